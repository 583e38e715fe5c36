namespace AkshareWeb.Features.Collection;

/// <summary>
/// The database took a batch only in part, or bent values to make them fit: the write fails. Its message is for the
/// run's record (what happened, with MySQL's warning number to look up); the server's own text names the schema,
/// tables and constraints and is for the service's log only (<see cref="ServerText"/>).
/// </summary>
public sealed class RowsRefusedException(string message, string serverText) : InvalidOperationException(message)
{
    public string ServerText { get; } = serverText;
}

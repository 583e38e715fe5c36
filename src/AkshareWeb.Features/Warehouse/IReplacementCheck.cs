using MySqlConnector;

namespace AkshareWeb.Features.Warehouse;

/// <summary>
/// A say over what a replace run may put in place of one table's content. An area that depends on a table being
/// whole (the trading calendar) registers one; the engine asks it, with the run's answer loaded beside the old
/// table, just before the swap, and fails the run with the refusal instead of swapping. The old content stays.
/// </summary>
public interface IReplacementCheck
{
    /// <summary>The warehouse table it watches.</summary>
    string Table { get; }

    /// <summary>Null when the answer may replace the table; else why not, in words the run's error shows.</summary>
    /// <param name="connection">An open connection to the warehouse.</param>
    /// <param name="answerTable">The table holding the answer (to be swapped in), or null when the answer had no rows.</param>
    ValueTask<string?> RefusalAsync(MySqlConnection connection, string? answerTable, CancellationToken ct);
}

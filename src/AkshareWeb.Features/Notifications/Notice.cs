namespace AkshareWeb.Features.Notifications;

/// <summary>
/// Something people should hear of, as whoever noticed it raises it. <paramref name="Key"/> names the occurrence
/// (a run's id for its failure, a table and day for its gaps): the same event with the same key is published once
/// however often it is raised, by however many instances. The owner's <c>mine</c> channels hear it when
/// <paramref name="UserId"/> is set; every active admin's <c>all</c> channels hear it when <paramref name="ToAdmins"/>.
/// </summary>
public sealed record Notice(
    string Event, string Key, string Title, IReadOnlyList<string> Lines, IReadOnlyDictionary<string, object?> Facts, long? UserId, bool ToAdmins = true)
{
    /// <summary>What a title, a line and the list of lines may hold (the columns and what the robots show).</summary>
    public const int TitleMax = 300;
    public const int LineMax = 1000;
    public const int LinesMax = 30;
    public const int KeyMax = 190;
}

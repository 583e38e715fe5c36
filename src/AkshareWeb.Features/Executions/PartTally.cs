using AkshareWeb.Features.Collection;

namespace AkshareWeb.Features.Executions;

/// <summary>
/// What one call of a run (a part, or a single run's one call) has fetched and written so far: read by the run's
/// heartbeat while the call goes on and recorded when it ends. The reading side counts what it fetched, the writing
/// side what it wrote, each on its own thread.
/// </summary>
public sealed class PartTally
{
    private long fetched;
    private long written;
    private long inserted;
    private long updated;
    private int percent;
    private int tries;

    public long Fetched => Interlocked.Read(ref fetched);

    /// <summary>Rows of the batches written, changed or not.</summary>
    public long Written => Interlocked.Read(ref written);

    public long Inserted => Interlocked.Read(ref inserted);

    public long Updated => Interlocked.Read(ref updated);

    public long Affected => Inserted + Updated;

    /// <summary>AKShare's word when it answered with no data (a call of 0 rows, not a failure); null otherwise.</summary>
    public string? EmptyAnswer { get; internal set; }

    /// <summary>How far the answer has been read and written: with a known length by its bytes, else creeping towards
    /// 95 batch by batch.</summary>
    public int Percent => Volatile.Read(ref percent);

    /// <summary>The tries of the AKTools call made so far (counted for a call that waits its turn).</summary>
    public int Tries => Volatile.Read(ref tries);

    internal void Trying(int attempt) => Volatile.Write(ref tries, attempt);

    internal void AddFetched(long rows) => Interlocked.Add(ref fetched, rows);

    internal void AddWritten(BatchResult result, long rows, AkToolsClient.Answer answer)
    {
        Interlocked.Add(ref inserted, result.Inserted);
        Interlocked.Add(ref updated, result.Updated);
        var total = Interlocked.Add(ref written, rows);
        Volatile.Write(ref percent, answer.ContentLength is > 0 and var length
            ? (int)Math.Clamp(95.0 * answer.BytesRead() / length, 1, 95)
            : (int)Math.Min(95, 95 * (1 - Math.Pow(0.8, total / (double)RowReader.BatchRows))));
    }

    /// <summary>Rows this run inserted that building the key's index found a newer row of: they are gone.</summary>
    internal void RemoveInserted(long rows) => Interlocked.Add(ref inserted, -rows);

    /// <summary>A replace run that failed leaves the table as it was: nothing it wrote stays.</summary>
    internal void DiscardWritten()
    {
        Interlocked.Exchange(ref inserted, 0);
        Interlocked.Exchange(ref updated, 0);
        Interlocked.Exchange(ref written, 0);
    }
}

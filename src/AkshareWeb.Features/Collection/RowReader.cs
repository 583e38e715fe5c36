using System.Runtime.CompilerServices;
using System.Text.Json;

namespace AkshareWeb.Features.Collection;

/// <summary>
/// Reads AKTools' JSON array of row objects from the response stream into <see cref="RowBatch"/>es with
/// <see cref="Utf8JsonReader"/>: one buffer of the stream at a time, no document per row. A row cut by the end of
/// the buffer is dropped and read again once more bytes arrived, so the reader only ever resumes at row borders;
/// the buffer grows only for a single row larger than itself.
/// </summary>
public sealed class RowReader : IDisposable
{
    /// <summary>Rows in a batch at most.</summary>
    public const int BatchRows = 20_000;

    /// <summary>Rows with long texts make smaller batches: about this many bytes of values at most.</summary>
    public const int BatchBytes = 16 << 20;

    private const int MaxRowBytes = 256 << 20;
    private readonly string function;
    private readonly Stream stream;
    private readonly IDisposable owner;
    private readonly Func<long> bytesRead;
    private byte[] buffer = new byte[1 << 18];
    private byte[] scratch = new byte[1 << 12];
    private int start;
    private int end;
    private bool endOfStream;
    private bool inArray;
    private bool finished;
    private JsonReaderState state;
    private IReadOnlyList<string>? columns;

    internal RowReader(string function, Stream stream, IDisposable owner, Func<long> bytesRead)
    {
        this.function = function;
        this.stream = stream;
        this.owner = owner;
        this.bytesRead = bytesRead;
    }

    public long BytesRead => bytesRead();

    /// <summary>The next rows, at most <paramref name="maxRows"/> or about <paramref name="maxBytes"/> of values; null at the end.</summary>
    public async ValueTask<RowBatch?> ReadAsync(int maxRows, int maxBytes, CancellationToken ct, RowBatch? reuse = null)
    {
        if (finished) return null;
        var batch = reuse ?? new RowBatch();
        batch.Reset(columns);
        while (true)
        {
            Step step;
            try
            {
                step = Parse(batch, maxRows, maxBytes);
            }
            catch (JsonException e)
            {
                throw new AkToolsException($"AKTools answered malformed JSON for {function} after {BytesRead} bytes: {e.Message}", e);
            }

            if (step == Step.Finished)
            {
                finished = true;
                break;
            }

            if (step == Step.Full) break;
            if (endOfStream) throw new AkToolsException($"AKTools' answer for {function} ended after {BytesRead} bytes, before its JSON array was closed");
            await FillAsync(ct);
        }

        columns = batch.Columns.ToList();
        return batch.Count == 0 && finished ? null : batch;
    }

    /// <summary>
    /// The rows batch by batch (<see cref="BatchRows"/> rows or about <see cref="BatchBytes"/> of values at most), each
    /// completed as the script asks: its dated columns taken apart (<paramref name="dated"/>) and its constant columns
    /// set on every row (<paramref name="extra"/>, their values already resolved).
    /// </summary>
    /// <param name="reuse">A batch done with, to be filled again; null (or one that gives null) for a new one.</param>
    public async IAsyncEnumerable<RowBatch> BatchesAsync(DatedColumns? dated, IReadOnlyDictionary<string, string> extra, Func<RowBatch?>? reuse,
        [EnumeratorCancellation] CancellationToken ct)
    {
        while (await ReadAsync(BatchRows, BatchBytes, ct, reuse?.Invoke()) is { } batch)
        {
            dated?.Apply(batch);
            foreach (var (name, value) in extra) batch.SetEverywhere(name, value);
            yield return batch;
        }
    }

    public void Dispose()
    {
        stream.Dispose();
        owner.Dispose();
    }

    private async Task FillAsync(CancellationToken ct)
    {
        if (start > 0)
        {
            buffer.AsSpan(start, end - start).CopyTo(buffer);
            end -= start;
            start = 0;
        }

        if (end == buffer.Length)
        {
            if (buffer.Length >= MaxRowBytes) throw new AkToolsException($"a row of {function} is larger than {MaxRowBytes >> 20} MB");
            Array.Resize(ref buffer, buffer.Length * 2);
        }

        int read;
        try
        {
            read = await stream.ReadAsync(buffer.AsMemory(end), ct);
        }
        catch (IOException e)
        {
            throw new AkToolsException($"the connection to AKTools broke while reading {function}: {e.Message}", e);
        }

        if (read == 0) endOfStream = true;
        end += read;
    }

    private Step Parse(RowBatch batch, int maxRows, int maxBytes)
    {
        if (!inArray && end - start >= 3 && buffer.AsSpan(start, 3).SequenceEqual("\uFEFF"u8)) start += 3;
        var input = buffer.AsSpan(start, end - start);
        var reader = new Utf8JsonReader(input, endOfStream, state);
        long committed = 0;
        var committedState = state;
        try
        {
            if (!inArray)
            {
                if (!reader.Read()) return Step.NeedMore;
                if (reader.TokenType != JsonTokenType.StartArray) throw new AkToolsException($"AKTools answered {reader.TokenType} for {function}, not an array of rows");
                inArray = true;
                (committed, committedState) = (reader.BytesConsumed, reader.CurrentState);
            }

            while (batch.Count < maxRows && batch.ArenaBytes < maxBytes)
            {
                if (!reader.Read()) return Step.NeedMore;
                switch (reader.TokenType)
                {
                    case JsonTokenType.EndArray:
                        (committed, committedState) = (reader.BytesConsumed, reader.CurrentState);
                        return Step.Finished;
                    case JsonTokenType.Null:
                        break;
                    case JsonTokenType.StartObject:
                        batch.BeginRow();
                        if (!ReadRow(ref reader, input, batch))
                        {
                            batch.DropRow();
                            return Step.NeedMore;
                        }

                        batch.EndRow();
                        break;
                    default:
                        throw new AkToolsException($"AKTools answered an array of {reader.TokenType} for {function}, not rows");
                }

                (committed, committedState) = (reader.BytesConsumed, reader.CurrentState);
            }

            return Step.Full;
        }
        finally
        {
            start += (int)committed;
            state = committedState;
        }
    }

    private bool ReadRow(ref Utf8JsonReader reader, ReadOnlySpan<byte> input, RowBatch batch)
    {
        var expected = 0;
        while (true)
        {
            if (!reader.Read()) return false;
            if (reader.TokenType == JsonTokenType.EndObject) return true;
            var column = batch.Column(reader.ValueIsEscaped ? Unescape(ref reader) : reader.ValueSpan, expected);
            expected = column + 1;
            if (!reader.Read()) return false;
            switch (reader.TokenType)
            {
                case JsonTokenType.String:
                    var text = reader.ValueIsEscaped ? Unescape(ref reader) : reader.ValueSpan;
                    var (kind, length) = ColumnValues.Classify(text);
                    batch.Set(column, text, kind, length);
                    break;
                case JsonTokenType.Number:
                    batch.Set(column, reader.ValueSpan, ColumnValues.ClassifyNumber(reader.ValueSpan), reader.ValueSpan.Length);
                    break;
                case JsonTokenType.True:
                    batch.Set(column, "true"u8, ColumnKind.Boolean, 5);
                    break;
                case JsonTokenType.False:
                    batch.Set(column, "false"u8, ColumnKind.Boolean, 5);
                    break;
                case JsonTokenType.Null:
                    batch.SetNull(column);
                    break;
                default:
                    // A nested object or array: kept as the JSON it was written as.
                    var from = (int)reader.TokenStartIndex;
                    if (!reader.TrySkip()) return false;
                    var raw = input[from..(int)reader.BytesConsumed];
                    batch.Set(column, raw, ColumnKind.Json, ColumnValues.Characters(raw));
                    break;
            }
        }
    }

    private ReadOnlySpan<byte> Unescape(ref Utf8JsonReader reader)
    {
        if (scratch.Length < reader.ValueSpan.Length) scratch = new byte[Math.Max(reader.ValueSpan.Length, scratch.Length * 2)];
        var written = reader.CopyString(scratch);
        return scratch.AsSpan(0, written);
    }

    private enum Step { NeedMore, Full, Finished }
}

using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace AkshareWeb.Features.Collection;

/// <summary>
/// A batch's values as the text MySQL reads for each column's type (dates as yyyy-MM-dd, instants in UTC,
/// booleans as 1/0 in numeric columns, JSON literals in JSON columns), with each row's value hash and key hash
/// (XXH128, 16 bytes each: they tell rows apart and changed from unchanged, nobody forges them). Written out as LOAD DATA's tab-separated text, or read back as strings for INSERTs.
/// </summary>
internal sealed class BatchRendering
{
    private static readonly SearchValues<byte> NeedsEscape = SearchValues.Create("\\\t\n\r\0"u8);
    private static readonly JsonSerializerOptions RelaxedJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private int width;
    private int[] starts = [];
    private int[] lengths = [];
    private byte[] hashes = [];
    private byte[] keys = [];
    private bool[] nullKey = [];
    private byte[] data = new byte[1024];
    private int used;
    // Reused batch after batch: per-batch collections of this size would land on the large-object heap.
    private readonly Dictionary<UInt128, int> lastOfKey = [];
    private readonly List<int> uniqueRows = [];

    /// <summary>Makes room for a batch, reusing the arrays of the one before when they are large enough.</summary>
    public void Reset(int rows, int columns, int bytes)
    {
        Count = rows;
        width = columns;
        if (starts.Length < rows * columns) (starts, lengths) = (new int[rows * columns], new int[rows * columns]);
        if (hashes.Length < rows * HashBytes) (hashes, keys, nullKey) = (new byte[rows * HashBytes], new byte[rows * HashBytes], new bool[rows]);
        nullKey.AsSpan(0, rows).Clear();
        if (data.Length < bytes) data = new byte[bytes];
        used = 0;
    }

    public int Count { get; private set; }

    public void SetNull(int row, int column) => lengths[row * width + column] = -1;

    public void SetCell(int row, int column, ReadOnlySpan<byte> value, ColumnKind cell, ColumnKind target)
    {
        var slot = row * width + column;
        starts[slot] = used;
        switch (target)
        {
            case ColumnKind.Boolean or ColumnKind.WholeNumber or ColumnKind.BigInteger or ColumnKind.Real when cell == ColumnKind.Boolean:
                Append(value[0] == (byte)'t' ? "1"u8 : "0"u8);
                break;
            case ColumnKind.Date or ColumnKind.DateTime when cell == ColumnKind.Date:
                Append(value[..10]);
                break;
            case ColumnKind.DateTime when cell == ColumnKind.DateTime && ColumnValues.TryDateTime(value, out var instant, out _):
                Reserve(32);
                instant.TryFormat(data.AsSpan(used), out var written, "yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture);
                used += written;
                break;
            case ColumnKind.Json when cell is ColumnKind.Text or ColumnKind.Date or ColumnKind.DateTime:
                Append(JsonSerializer.SerializeToUtf8Bytes(Encoding.UTF8.GetString(value), RelaxedJson));
                break;
            default:
                Append(value);
                break;
        }

        lengths[slot] = used - starts[slot];
    }

    /// <summary>name NUL value SOH for a non-null value; with <paramref name="nullMarker"/>, name NUL STX for a null one.</summary>
    public void AppendHashInput(int row, int column, byte[] name, ByteBuffer input, bool nullMarker = false)
    {
        var slot = row * width + column;
        if (lengths[slot] < 0 && !nullMarker) return;
        input.Append(name);
        input.Append(0);
        if (lengths[slot] < 0)
        {
            input.Append(2);
            return;
        }

        input.Append(data.AsSpan(starts[slot], lengths[slot]));
        input.Append(1);
    }

    public const int HashBytes = 16;

    public Span<byte> HashSlot(int row) => hashes.AsSpan(row * HashBytes, HashBytes);
    public Span<byte> KeySlot(int row) => keys.AsSpan(row * HashBytes, HashBytes);
    public ReadOnlySpan<byte> Hash(int row) => hashes.AsSpan(row * HashBytes, HashBytes);
    public ReadOnlySpan<byte> Key(int row) => keys.AsSpan(row * HashBytes, HashBytes);

    public void NoteKeyNulls(int row, int[] keyColumns)
    {
        foreach (var c in keyColumns)
        {
            if (lengths[row * width + c] < 0) nullKey[row] = true;
        }
    }

    public bool AnyNullKey(List<int> rows) => rows.Exists(r => nullKey[r]);

    /// <summary>Rows in order, keeping only the last of rows that share a key (the newest value wins).</summary>
    public List<int> LastOfEachKey()
    {
        lastOfKey.Clear();
        for (var row = 0; row < Count; row++) lastOfKey[KeyId(row)] = row;
        uniqueRows.Clear();
        for (var row = 0; row < Count; row++)
        {
            if (lastOfKey[KeyId(row)] == row) uniqueRows.Add(row);
        }

        return uniqueRows;
    }

    /// <summary>The first 16 bytes of the row's value hash, enough to tell a changed row.</summary>
    public UInt128 HashId(int row) => new(BitConverter.ToUInt64(hashes, row * HashBytes), BitConverter.ToUInt64(hashes, row * HashBytes + 8));

    public string? Text(int row, int column)
    {
        var slot = row * width + column;
        return lengths[slot] < 0 ? null : Encoding.UTF8.GetString(data, starts[slot], lengths[slot]);
    }

    /// <summary>LOAD DATA's default format: tab between fields, newline after rows, backslash escapes, \N for null.</summary>
    public void WriteTabSeparated(ByteBuffer line, IReadOnlyList<LoadField> fields, IReadOnlyList<int> rows, long[]? ids, int hashBytes)
    {
        Span<byte> number = stackalloc byte[24];
        foreach (var row in rows)
        {
            for (var p = 0; p < fields.Count; p++)
            {
                if (p > 0) line.Append((byte)'\t');
                var field = fields[p];
                switch (field.Source)
                {
                    case FieldSource.Cell:
                        var slot = row * width + field.Index;
                        if (lengths[slot] < 0) line.Append("\\N"u8);
                        else Escape(data.AsSpan(starts[slot], lengths[slot]), line);
                        break;
                    case FieldSource.RowHash:
                        Hex(Hash(row)[..Math.Min(hashBytes, HashBytes)], line);
                        break;
                    case FieldSource.RowKey:
                        Hex(Key(row), line);
                        break;
                    default:
                        Utf8Formatter.TryFormat(field.Source == FieldSource.Ordinal ? row : ids![row], number, out var written);
                        line.Append(number[..written]);
                        break;
                }
            }

            line.Append((byte)'\n');
        }
    }

    private UInt128 KeyId(int row) => new(BitConverter.ToUInt64(keys, row * HashBytes), BitConverter.ToUInt64(keys, row * HashBytes + 8));

    private static void Escape(ReadOnlySpan<byte> value, ByteBuffer line)
    {
        while (true)
        {
            var at = value.IndexOfAny(NeedsEscape);
            if (at < 0)
            {
                line.Append(value);
                return;
            }

            line.Append(value[..at]);
            line.Append((byte)'\\');
            line.Append(value[at] switch { (byte)'\t' => (byte)'t', (byte)'\n' => (byte)'n', (byte)'\r' => (byte)'r', 0 => (byte)'0', var b => b });
            value = value[(at + 1)..];
        }
    }

    private static void Hex(ReadOnlySpan<byte> bytes, ByteBuffer line)
    {
        var target = line.Grow(bytes.Length * 2);
        Convert.TryToHexString(bytes, target, out _);
    }

    private void Append(ReadOnlySpan<byte> value)
    {
        Reserve(value.Length);
        value.CopyTo(data.AsSpan(used));
        used += value.Length;
    }

    private void Reserve(int more)
    {
        if (used + more > data.Length) Array.Resize(ref data, Math.Max(data.Length * 2, used + more));
    }
}

using System.Buffers.Text;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace AkshareWeb.Features.Collection;

/// <summary>
/// A batch of rows as AKTools sent them, kept as bytes: every value is a slice of one arena (strings unescaped,
/// numbers and nested JSON as written), with the kind it was read as. Columns are AKShare's names in the order
/// they first appeared; a row that lacks a column holds null there. Each column's type is inferred over the whole
/// batch while it is read (null while the batch has no value for it). No per-row objects: a million rows cost a
/// few arenas, not millions of dictionaries and strings.
/// </summary>
public sealed class RowBatch
{
    private readonly List<string> names = [];
    private readonly List<byte[]> utf8Names = [];
    private readonly Dictionary<string, int> index = new(StringComparer.Ordinal);
    private readonly List<ColumnType?> types = [];
    private byte[] arena = new byte[1 << 16];
    private int arenaLength;
    private Cell[] cells = new Cell[1024];
    private int stride = 8;
    private int rowArenaStart;

    /// <summary>A batch that starts with the columns of the one before it, so columns keep their order.</summary>
    public RowBatch(IEnumerable<string>? columns = null) => Reset(columns);

    /// <summary>Empties the batch for reuse, keeping its buffers (they are large; allocating them per batch
    /// would leave the large-object heap to grow until a full collection).</summary>
    public void Reset(IEnumerable<string>? columns)
    {
        var keep = columns?.ToList() ?? [];
        names.Clear();
        utf8Names.Clear();
        index.Clear();
        types.Clear();
        Count = 0;
        arenaLength = 0;
        rowArenaStart = 0;
        foreach (var name in keep) AddColumn(name);
    }

    public int Count { get; private set; }
    public int ArenaBytes => arenaLength;
    public IReadOnlyList<string> Columns => names;

    /// <summary>The position of a column in the batch; -1 when the batch has none of that name.</summary>
    public int IndexOf(string column)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (names[i] == column) return i;
        }

        return -1;
    }

    /// <summary>The type over this batch's values; null when the batch has none for the column.</summary>
    public IReadOnlyList<ColumnType?> Types => types;
    internal IReadOnlyList<byte[]> Utf8Names => utf8Names;

    /// <summary>The value of a cell; false when it is null or absent.</summary>
    public bool TryGet(int row, int column, out ReadOnlySpan<byte> value, out ColumnKind kind)
    {
        var cell = column < stride ? cells[row * stride + column] : default;
        if (cell.Kind == 0)
        {
            value = default;
            kind = default;
            return false;
        }

        value = arena.AsSpan(cell.Offset, cell.Length);
        kind = (ColumnKind)(cell.Kind - 1);
        return true;
    }

    /// <summary>The same value in every row (a script's extra columns), replacing what AKShare sent under that name.</summary>
    public void SetEverywhere(string name, string value)
    {
        var column = index.TryGetValue(name, out var known) ? known : AddColumn(name);
        var bytes = Encoding.UTF8.GetBytes(value);
        var offset = Append(bytes);
        var (kind, length) = ColumnValues.Classify(bytes);
        for (var row = 0; row < Count; row++) cells[row * stride + column] = new Cell(offset, bytes.Length, (byte)(kind + 1));
        types[column] = Count == 0 ? null : new ColumnType(kind, length);
    }

    /// <summary>Gives a column another name in this batch (its values stay); false when the name is taken.</summary>
    public bool RenameColumn(int column, string name)
    {
        if (index.ContainsKey(name)) return false;
        index.Remove(names[column]);
        names[column] = name;
        utf8Names[column] = Encoding.UTF8.GetBytes(name);
        index[name] = column;
        return true;
    }

    /// <summary>One row as JSON values, the way AKTools sent it (for previews).</summary>
    public Dictionary<string, JsonElement> ToJson(int row)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            for (var c = 0; c < names.Count; c++)
            {
                writer.WritePropertyName(names[c]);
                if (!TryGet(row, c, out var value, out var kind)) writer.WriteNullValue();
                else if (kind is ColumnKind.Text or ColumnKind.Date or ColumnKind.DateTime) writer.WriteStringValue(value);
                else writer.WriteRawValue(value, skipInputValidation: true);
            }

            writer.WriteEndObject();
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal);
    }

    internal void BeginRow()
    {
        var needed = (Count + 1) * stride;
        if (needed > cells.Length) Array.Resize(ref cells, Math.Max(needed, cells.Length * 2));
        cells.AsSpan(Count * stride, stride).Clear();
        rowArenaStart = arenaLength;
    }

    internal void EndRow() => Count++;

    /// <summary>Forgets a row whose end had not arrived yet; it is read again from its start.</summary>
    internal void DropRow() => arenaLength = rowArenaStart;

    /// <summary>The column of a property name as it stands in the JSON (unescaped), adding it when new.</summary>
    internal int Column(ReadOnlySpan<byte> utf8Name, int expected)
    {
        if (expected < utf8Names.Count && utf8Name.SequenceEqual(utf8Names[expected])) return expected;
        for (var i = 0; i < utf8Names.Count; i++)
        {
            if (utf8Name.SequenceEqual(utf8Names[i])) return i;
        }

        return AddColumn(Encoding.UTF8.GetString(utf8Name));
    }

    internal void Set(int column, ReadOnlySpan<byte> value, ColumnKind kind, int textLength)
    {
        var offset = Append(value);
        cells[Count * stride + column] = new Cell(offset, value.Length, (byte)(kind + 1));
        var type = new ColumnType(kind, textLength);
        types[column] = types[column] is { } known ? known.Widen(type) : type;
    }

    internal void SetNull(int column) => cells[Count * stride + column] = default;

    private int AddColumn(string name)
    {
        var column = names.Count;
        names.Add(name);
        utf8Names.Add(Encoding.UTF8.GetBytes(name));
        index[name] = column;
        types.Add(null);
        if (column >= stride) Restride(Math.Max(stride * 2, column + 1));
        return column;
    }

    private void Restride(int wider)
    {
        var rows = Count + 1;
        var copy = new Cell[Math.Max(rows * wider, 1024)];
        for (var r = 0; r < rows && (r + 1) * stride <= cells.Length; r++)
        {
            cells.AsSpan(r * stride, stride).CopyTo(copy.AsSpan(r * wider));
        }

        cells = copy;
        stride = wider;
    }

    private int Append(ReadOnlySpan<byte> value)
    {
        EnsureArena(value.Length);
        var offset = arenaLength;
        value.CopyTo(arena.AsSpan(offset));
        arenaLength += value.Length;
        return offset;
    }

    private void EnsureArena(int more)
    {
        if (arenaLength + more <= arena.Length) return;
        Array.Resize(ref arena, Math.Max(arena.Length * 2, arenaLength + more));
    }

    private readonly record struct Cell(int Offset, int Length, byte Kind);
}

/// <summary>
/// Type inference and conversion of values as AKTools writes them (pandas' JSON): dates arrive as strings,
/// "2024-01-02" or "2024-01-02T00:00:00.000"; numbers as JSON numbers, which may exceed 64 bits.
/// </summary>
public static class ColumnValues
{
    /// <summary>The kind of a string value and its length in characters.</summary>
    public static (ColumnKind Kind, int Length) Classify(ReadOnlySpan<byte> text)
    {
        var length = Characters(text);
        if (IsDate(text)) return (ColumnKind.Date, length);
        if (TryDateTime(text, out _, out _)) return (ColumnKind.DateTime, length);
        return (ColumnKind.Text, length);
    }

    /// <summary>The kind of a JSON number written as <paramref name="raw"/>.</summary>
    public static ColumnKind ClassifyNumber(ReadOnlySpan<byte> raw)
    {
        if (raw.IndexOfAny((byte)'.', (byte)'e', (byte)'E') >= 0) return ColumnKind.Real;
        if (Utf8Parser.TryParse(raw, out long _, out var consumed) && consumed == raw.Length) return ColumnKind.WholeNumber;
        return raw.Length - (raw[0] == (byte)'-' ? 1 : 0) <= 65 ? ColumnKind.BigInteger : ColumnKind.Real;
    }

    /// <summary>"2024-01-02", or pandas' midnight "2024-01-02T00:00:00[.000][Z]": a calendar day.</summary>
    public static bool IsDate(ReadOnlySpan<byte> text)
    {
        if (text.Length < 10 || !TryDay(text, out _, out _, out _)) return false;
        if (text.Length == 10) return true;
        if (text.Length < 19 || text[10] != (byte)'T' || !text[11..19].SequenceEqual("00:00:00"u8)) return false;
        var rest = text[19..];
        if (rest.Length > 0 && rest[^1] == (byte)'Z') rest = rest[..^1];
        if (rest.Length == 0) return true;
        return rest[0] == (byte)'.' && rest.Length > 1 && rest[1..].IndexOfAnyExcept((byte)'0') < 0;
    }

    /// <summary>
    /// yyyy-MM-dd[T ]HH:mm[:ss[.fffffff]][Z|±hh[:]mm], a real instant; with a zone it is converted to UTC.
    /// </summary>
    public static bool TryDateTime(ReadOnlySpan<byte> text, out DateTime value, out bool zoned)
    {
        value = default;
        zoned = false;
        if (text.Length < 16 || !TryDay(text, out var year, out var month, out var day)) return false;
        if (text[10] is not ((byte)'T' or (byte)' ') || text[13] != (byte)':') return false;
        if (!TwoDigits(text[11..], out var hour) || !TwoDigits(text[14..], out var minute) || hour > 23 || minute > 59) return false;
        var at = 16;
        var second = 0;
        long ticks = 0;
        if (at < text.Length && text[at] == (byte)':')
        {
            if (text.Length < at + 3 || !TwoDigits(text[(at + 1)..], out second) || second > 59) return false;
            at += 3;
            if (at < text.Length && text[at] == (byte)'.')
            {
                var digits = 0;
                at++;
                while (at < text.Length && text[at] is >= (byte)'0' and <= (byte)'9')
                {
                    if (digits < 7) ticks = ticks * 10 + (text[at] - '0');
                    digits++;
                    at++;
                }

                if (digits is 0 or > 9) return false;
                for (var d = Math.Min(digits, 7); d < 7; d++) ticks *= 10;
            }
        }

        var offset = TimeSpan.Zero;
        if (at < text.Length)
        {
            var zone = text[at..];
            if (zone.SequenceEqual("Z"u8))
            {
                zoned = true;
            }
            else if (zone[0] is (byte)'+' or (byte)'-' && zone.Length is 5 or 6 && TwoDigits(zone[1..], out var oh)
                && TwoDigits(zone[(zone.Length == 6 ? 4 : 3)..], out var om) && (zone.Length == 5 || zone[3] == (byte)':') && oh <= 14 && om <= 59)
            {
                zoned = true;
                offset = new TimeSpan(oh, om, 0) * (zone[0] == (byte)'-' ? -1 : 1);
            }
            else
            {
                return false;
            }
        }

        value = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc).AddTicks(ticks) - offset;
        return true;
    }

    /// <summary>Characters as MySQL counts them in utf8mb4: code points.</summary>
    public static int Characters(ReadOnlySpan<byte> utf8)
    {
        var count = 0;
        foreach (var b in utf8)
        {
            if ((b & 0xC0) != 0x80) count++;
        }

        return count;
    }

    private static bool TryDay(ReadOnlySpan<byte> text, out int year, out int month, out int day)
    {
        year = month = day = 0;
        if (text[4] != (byte)'-' || text[7] != (byte)'-' || !TwoDigits(text, out var century) || !TwoDigits(text[2..], out var rest)
            || !TwoDigits(text[5..], out month) || !TwoDigits(text[8..], out day))
        {
            return false;
        }

        year = century * 100 + rest;
        // MySQL's DATE range; 0000-00-00 and impossible days stay text.
        return year >= 1000 && month is >= 1 and <= 12 && day >= 1 && day <= DateTime.DaysInMonth(year, month);
    }

    private static bool TwoDigits(ReadOnlySpan<byte> text, out int value)
    {
        value = 0;
        if (text.Length < 2 || text[0] is < (byte)'0' or > (byte)'9' || text[1] is < (byte)'0' or > (byte)'9') return false;
        value = (text[0] - '0') * 10 + (text[1] - '0');
        return true;
    }
}

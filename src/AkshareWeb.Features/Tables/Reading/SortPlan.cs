using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Dapper;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Tables;

/// <summary>
/// The order of a /data answer: <see cref="Keys"/> (ending with id, so the order is total) all ascending or all
/// descending. <see cref="Index"/> is the index that delivers this order as stored (PRIMARY for id), or null
/// when MySQL has to sort the filtered rows.
/// <para>A UNIQUE index (the engine's natural key) holds its rows in (columns, id) order like any InnoDB index,
/// but MariaDB does not count the id as part of it and sorts the whole range when asked for ORDER BY columns, id.
/// Reading such an index, the order names its columns only (<see cref="OrderBy"/> with <c>readingIndex</c>):
/// rows can only share a key when a key column is NULL, and those come in id order as stored. The outer sort of a
/// page's rows, a sort of a hundred rows, names id as well.</para>
/// </summary>
public sealed record SortPlan(IReadOnlyList<TableColumn> Keys, bool Descending, string? Index, bool IndexIsUnique = false)
{
    public bool Indexed => Index is not null;

    public string Direction => Descending ? "DESC" : "ASC";

    /// <summary>ORDER BY the keys, each column prefixed (e.g. <c>t.</c>); see the type's remarks for <paramref name="readingIndex"/>.</summary>
    public string OrderBy(string prefix = "", bool readingIndex = true) =>
        " ORDER BY " + string.Join(", ", (readingIndex && IndexIsUnique ? Keys.Take(Keys.Count - 1) : Keys).Select(k => $"{prefix}{ColumnNames.Quote(k.Name)} {Direction}"));

    /// <summary>The keys as a select list.</summary>
    public string SelectKeys() => string.Join(", ", Keys.Select(k => ColumnNames.Quote(k.Name)));

    /// <summary>What the plan is, for cache keys and cursor fingerprints.</summary>
    public string Signature() => Direction + "\u001f" + string.Join('\u001f', Keys.Select(k => k.Name));

    /// <summary>
    /// The rows strictly after the row whose keys are <paramref name="tokens"/> (see <see cref="KeyValues"/>),
    /// as expanded comparisons: <c>a &gt; @k0 OR (a = @k0 AND b &gt; @k1) OR (a = @k0 AND b = @k1 AND id &gt; @k2)</c>,
    /// led by the bound on the first key (<c>a &gt;= @k0</c>) so MySQL 8 and MariaDB both read it as one range of
    /// the index. NULL sorts first ascending and last descending, as MySQL orders it.
    /// </summary>
    public string After(IReadOnlyList<string?> tokens, DynamicParameters args)
    {
        var values = new string?[Keys.Count];
        for (var i = 0; i < Keys.Count; i++)
        {
            if (tokens[i] is not { } token) continue;
            var name = "k" + i.ToString(CultureInfo.InvariantCulture);
            var (value, expression) = KeyValues.Bind(Keys[i], token, "@" + name);
            args.Add(name, value);
            values[i] = expression;
        }

        var terms = new List<string>();
        for (var i = 0; i < Keys.Count; i++)
        {
            if (Beyond(Keys[i], values[i]) is not { } beyond) continue;
            var parts = new List<string>();
            for (var j = 0; j < i; j++) parts.Add(Equal(Keys[j], values[j]));
            parts.Add(beyond);
            terms.Add(parts.Count == 1 ? parts[0] : "(" + string.Join(" AND ", parts) + ")");
        }

        var rows = terms.Count switch { 0 => "1 = 0", 1 => terms[0], _ => "(" + string.Join(" OR ", terms) + ")" };
        return Keys.Count > 1 && Lead(Keys[0], values[0]) is { } lead ? $"{lead} AND {rows}" : rows;
    }

    private static string Equal(TableColumn key, string? value) =>
        value is null ? $"{ColumnNames.Quote(key.Name)} IS NULL" : $"{ColumnNames.Quote(key.Name)} = {value}";

    /// <summary>Values of this key that come after the given one; null when none can.</summary>
    private string? Beyond(TableColumn key, string? value)
    {
        var quoted = ColumnNames.Quote(key.Name);
        if (!Descending) return value is null ? $"{quoted} IS NOT NULL" : $"{quoted} > {value}";
        if (value is null) return null;
        return key.Nullable ? $"({quoted} < {value} OR {quoted} IS NULL)" : $"{quoted} < {value}";
    }

    /// <summary>The values of the first key at or after the given one (redundant, but an index range).</summary>
    private string? Lead(TableColumn key, string? value)
    {
        var quoted = ColumnNames.Quote(key.Name);
        if (!Descending) return value is null ? null : $"{quoted} >= {value}";
        if (value is null) return $"{quoted} IS NULL";
        return key.Nullable ? $"({quoted} <= {value} OR {quoted} IS NULL)" : $"{quoted} <= {value}";
    }
}

/// <summary>
/// Sort-key values as text, so a cursor or a cached position can hold them: integers and reals in round-trip
/// form, DECIMAL as MySQL writes it, dates as MySQL reads them back, binary in base64. Bound back with the
/// column's own type so comparisons are exact (a DECIMAL compared with a string would be compared as a double).
/// </summary>
public static partial class KeyValues
{
    private enum Kind { Integer, Real, Decimal, Binary, Text }

    /// <summary>The text of a value read from the column; null for NULL.</summary>
    public static string? Token(object? value, TableColumn column) => value switch
    {
        null or DBNull => null,
        bool b => b ? "1" : "0",
        DateTime d when column.Type == "DATE" => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        DateTime d => d.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => ((double)f).ToString("R", CultureInfo.InvariantCulture),
        byte[] bytes => Convert.ToBase64String(bytes),
        TimeSpan t => Time(t),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    /// <summary>True when the text can be bound for the column.</summary>
    public static bool Fits(TableColumn column, string token)
    {
        try
        {
            Bind(column, token, "@x");
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>The parameter value for a token, and the SQL that stands for it (a CAST for DECIMAL).</summary>
    public static (object Value, string Expression) Bind(TableColumn column, string token, string parameter)
    {
        switch (KindOf(column.Type))
        {
            case Kind.Integer:
                if (long.TryParse(token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole)) return (whole, parameter);
                if (decimal.TryParse(token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var big)) return (big, parameter);
                break;
            case Kind.Real:
                if (double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && double.IsFinite(real)) return (real, parameter);
                break;
            case Kind.Decimal:
                if (DecimalText().IsMatch(token)) return (token, $"CAST({parameter} AS DECIMAL(65,{Scale(column.Type)}))");
                break;
            case Kind.Binary:
                var buffer = new byte[token.Length];
                if (Convert.TryFromBase64String(token, buffer, out var written)) return (buffer[..written], parameter);
                break;
            default:
                return (token, parameter);
        }

        throw new FormatException($"{token} is not a value of {column.Type}");
    }

    private static Kind KindOf(string type)
    {
        static bool Is(string type, string prefix) => type.StartsWith(prefix, StringComparison.Ordinal);
        if (Is(type, "TINYINT") || Is(type, "SMALLINT") || Is(type, "MEDIUMINT") || Is(type, "INT") || Is(type, "BIGINT") || Is(type, "YEAR") || Is(type, "BIT"))
            return Kind.Integer;
        if (Is(type, "DOUBLE") || Is(type, "FLOAT") || Is(type, "REAL")) return Kind.Real;
        if (Is(type, "DECIMAL") || Is(type, "NUMERIC")) return Kind.Decimal;
        if (Is(type, "BINARY") || Is(type, "VARBINARY") || type.Contains("BLOB", StringComparison.Ordinal)) return Kind.Binary;
        return Kind.Text;
    }

    private static string Scale(string type)
    {
        var match = DecimalType().Match(type);
        return match.Success ? match.Groups[1].Value : "0";
    }

    /// <summary>TIME as MySQL writes it: [-]hhh:mm:ss.ffffff.</summary>
    private static string Time(TimeSpan t)
    {
        var text = new StringBuilder();
        if (t < TimeSpan.Zero)
        {
            text.Append('-');
            t = t.Negate();
        }

        var hours = (long)t.TotalHours;
        text.Append(hours.ToString("00", CultureInfo.InvariantCulture)).Append(':')
            .Append(t.Minutes.ToString("00", CultureInfo.InvariantCulture)).Append(':')
            .Append(t.Seconds.ToString("00", CultureInfo.InvariantCulture)).Append('.')
            .Append((t.Ticks % TimeSpan.TicksPerSecond / 10).ToString("000000", CultureInfo.InvariantCulture));
        return text.ToString();
    }

    [GeneratedRegex(@"^-?\d{1,65}(\.\d{1,30})?$")]
    private static partial Regex DecimalText();

    [GeneratedRegex(@"^(?:DECIMAL|NUMERIC)\(\d+,(\d+)\)")]
    private static partial Regex DecimalType();
}

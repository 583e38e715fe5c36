using System.Globalization;

namespace AkshareWeb.Features.Collection;

/// <summary>What a column's values are, from narrowest to widest; a column only ever widens.</summary>
public enum ColumnKind
{
    Boolean = 0,
    WholeNumber = 1,
    BigInteger = 2,
    Real = 3,
    Date = 4,
    DateTime = 5,
    Text = 6,
    Json = 7,
}

/// <summary>The inferred type of one column: its kind and, for text, the longest value in characters.</summary>
public readonly record struct ColumnType(ColumnKind Kind, int TextLength)
{
    public string SqlType => Kind switch
    {
        ColumnKind.Boolean => "TINYINT(1)",
        ColumnKind.WholeNumber => "BIGINT",
        ColumnKind.BigInteger => "DECIMAL(65,0)",
        ColumnKind.Real => "DOUBLE",
        ColumnKind.Date => "DATE",
        ColumnKind.DateTime => "DATETIME(6)",
        ColumnKind.Json => "JSON",
        // VARCHAR up to 255 keeps rows small; beyond it TEXT types, which do not count against the row limit.
        _ => TextLength <= 255 ? $"VARCHAR({Bucket(TextLength)})" : TextLength <= 16_000 ? "TEXT" : TextLength <= 4_000_000 ? "MEDIUMTEXT" : "LONGTEXT",
    };

    /// <summary>The narrowest type that holds values of both.</summary>
    public ColumnType Widen(ColumnType other)
    {
        if (Kind == other.Kind) return new ColumnType(Kind, Math.Max(TextLength, other.TextLength));
        var (low, high) = Kind < other.Kind ? (this, other) : (other, this);
        var numeric = high.Kind is ColumnKind.WholeNumber or ColumnKind.BigInteger or ColumnKind.Real;
        if (numeric && low.Kind is ColumnKind.Boolean or ColumnKind.WholeNumber or ColumnKind.BigInteger) return high;
        if (high.Kind == ColumnKind.DateTime && low.Kind == ColumnKind.Date) return high;
        if (high.Kind == ColumnKind.Json) return high;
        // Anything else mixed becomes text long enough for the longest rendering of either.
        return new ColumnType(ColumnKind.Text, Math.Max(Math.Max(TextLength, other.TextLength), 32));
    }

    private static int Bucket(int length)
    {
        foreach (var size in new[] { 16, 32, 64, 128, 255 })
        {
            if (length <= size) return size;
        }

        return 255;
    }

    /// <summary>Reads a type back from information_schema (DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, COLUMN_TYPE).</summary>
    public static ColumnType FromSql(string dataType, long? charLength, string columnType) => dataType.ToLowerInvariant() switch
    {
        "tinyint" when columnType.StartsWith("tinyint(1)", StringComparison.OrdinalIgnoreCase) => new(ColumnKind.Boolean, 0),
        "tinyint" or "smallint" or "mediumint" or "int" or "bigint" => new(ColumnKind.WholeNumber, 0),
        "decimal" => new(ColumnKind.BigInteger, 0),
        "double" or "float" => new(ColumnKind.Real, 0),
        "date" => new(ColumnKind.Date, 0),
        "datetime" or "timestamp" => new(ColumnKind.DateTime, 0),
        "json" => new(ColumnKind.Json, 0),
        // MariaDB reports JSON as longtext; a longtext column holds anything, text or JSON.
        _ => new(ColumnKind.Text, (int)Math.Min(int.MaxValue, charLength ?? 255)),
    };
}

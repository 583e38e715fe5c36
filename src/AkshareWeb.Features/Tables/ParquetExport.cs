using System.Data.Common;
using System.Globalization;
using Parquet;
using Parquet.Schema;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Tables;

/// <summary>
/// format=parquet: each column typed from the MySQL catalogue (DATE a Parquet date, DATETIME a timestamp, integers
/// int64, DOUBLE double, DECIMAL a decimal of its precision and scale, text UTF-8 strings, NULL null), written in row
/// groups of <see cref="RowGroupRows"/> rows. A row group is encoded in memory and sent before the next is read, so
/// memory holds one row group whatever the table's size.
/// </summary>
internal static class ParquetExport
{
    /// <summary>The media type IANA registered for Parquet (2024).</summary>
    public const string MediaType = "application/vnd.apache.parquet";

    public const int RowGroupRows = 50_000;

    /// <summary>
    /// Parquet.Net encodes every page in a buffer from one process-wide pool that, by default, keeps up to 16 MB of
    /// small and 64 MB of large free buffers for good: an export left them held, more of them the more pages it wrote
    /// (bench/README.md, tables-export.sh). A row group's page is at most a few MB, so a few MB of free buffers are
    /// enough to reuse; the rest goes back to the garbage collector.
    /// </summary>
    private static readonly ParquetOptions Options = new()
    {
        MaximumSmallPoolFreeBytes = 1 << 20,
        MaximumLargePoolFreeBytes = 4 << 20,
    };

    public static async Task WriteAsync(Stream body, DbDataReader reader, IReadOnlyList<TableColumn> shown, CancellationToken ct)
    {
        var columns = shown.Select(ParquetColumn.For).ToArray();
        var spool = new Spool();
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(columns.Select(c => (Field)c.Field)), spool, Options, cancellationToken: ct))
        {
            var rows = 0;
            while (await reader.ReadAsync(ct))
            {
                for (var i = 0; i < columns.Length; i++) columns[i].Add(reader, i, rows);
                if (++rows < RowGroupRows) continue;
                await WriteGroupAsync(writer, columns, rows, ct);
                await spool.SendAsync(body, ct);
                rows = 0;
            }

            if (rows > 0) await WriteGroupAsync(writer, columns, rows, ct);
        }

        await spool.SendAsync(body, ct);
    }

    private static async Task WriteGroupAsync(ParquetWriter writer, ParquetColumn[] columns, int rows, CancellationToken ct)
    {
        using var group = writer.CreateRowGroup();
        foreach (var column in columns) await column.WriteAsync(group, rows, ct);
        group.CompleteValidate();
    }

    /// <summary>
    /// Where the writer writes: bytes held until <see cref="SendAsync"/> passes them on. The writer then needs no
    /// seekable stream (it counts what it wrote), and every write to the response is asynchronous, as Kestrel wants.
    /// </summary>
    private sealed class Spool : Stream
    {
        private readonly MemoryStream held = new();

        public async Task SendAsync(Stream body, CancellationToken ct)
        {
            if (held.Length == 0) return;
            await body.WriteAsync(held.GetBuffer().AsMemory(0, (int)held.Length), ct);
            await body.FlushAsync(ct);
            held.SetLength(0);
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => held.Write(buffer, offset, count);
        public override void Write(ReadOnlySpan<byte> buffer) => held.Write(buffer);
        public override void WriteByte(byte value) => held.WriteByte(value);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            held.Write(buffer, offset, count);
            return Task.CompletedTask;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            held.Write(buffer.Span);
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>One column of the export: its Parquet field and the values of the row group being filled.</summary>
internal abstract class ParquetColumn(DataField field)
{
    public DataField Field { get; } = field;

    public abstract void Add(DbDataReader reader, int ordinal, int row);

    public abstract Task WriteAsync(ParquetRowGroupWriter group, int rows, CancellationToken ct);

    /// <summary>
    /// The Parquet type of a column, from its MySQL type as information_schema gives it (upper case, e.g. BIGINT,
    /// DECIMAL(20,4), DATETIME(6), VARCHAR(16)). A DECIMAL wider than .NET's decimal (29 digits; the engine's
    /// DECIMAL(65,0) for integers beyond BIGINT) is written as its digits, a string; so is any type not named here.
    /// </summary>
    public static ParquetColumn For(TableColumn column)
    {
        var name = column.OriginalName;
        var type = column.Type;
        if (type.StartsWith("TINYINT(1)", StringComparison.Ordinal) || type is "BOOL" or "BOOLEAN")
            return new Values<bool>(new DataField(name, typeof(bool), isNullable: true), static (r, o) => r.GetBoolean(o));
        if (type.StartsWith("BIGINT", StringComparison.Ordinal) && type.Contains("UNSIGNED", StringComparison.Ordinal))
            return new Values<decimal>(new DecimalDataField(name, 20, 0, forceByteArrayEncoding: true, isNullable: true), static (r, o) => Convert.ToDecimal(r.GetValue(o), CultureInfo.InvariantCulture));
        if (Is(type, "TINYINT") || Is(type, "SMALLINT") || Is(type, "MEDIUMINT") || Is(type, "INT") || Is(type, "BIGINT") || Is(type, "YEAR"))
            return new Values<long>(new DataField(name, typeof(long), isNullable: true), static (r, o) => r.GetInt64(o));
        if (Is(type, "DOUBLE") || Is(type, "FLOAT") || Is(type, "REAL"))
            return new Values<double>(new DataField(name, typeof(double), isNullable: true), static (r, o) => r.GetDouble(o));
        if ((Is(type, "DECIMAL") || Is(type, "NUMERIC")) && Precision(type) is { Precision: <= 28 } decimalType)
        {
            var field = new DecimalDataField(name, decimalType.Precision, decimalType.Scale, forceByteArrayEncoding: true, isNullable: true);
            return new Values<decimal>(field, static (r, o) => r.GetDecimal(o));
        }

        if (type == "DATE") return new Values<DateOnly>(new DataField(name, typeof(DateOnly), isNullable: true), static (r, o) => DateOnly.FromDateTime(r.GetDateTime(o)));
        if (Is(type, "DATETIME") || Is(type, "TIMESTAMP"))
        {
            // _collected_at is UTC; a collected DATETIME has no zone (mostly market time) and is marked as such.
            var utc = column.Name == BookkeepingColumns.CollectedAt;
            var field = new DateTimeDataField(name, DateTimeFormat.Timestamp, isAdjustedToUTC: utc, unit: DateTimeTimeUnit.Micros, isNullable: true);
            return new Values<DateTime>(field, static (r, o) => DateTime.SpecifyKind(r.GetDateTime(o), DateTimeKind.Unspecified));
        }

        if (Is(type, "BINARY") || Is(type, "VARBINARY") || type.EndsWith("BLOB", StringComparison.Ordinal))
            return new Bytes(new DataField(name, typeof(byte[]), isNullable: true));
        return new Text(new DataField(name, typeof(string), isNullable: true));
    }

    /// <summary>The type is <paramref name="name"/>, with or without a width or attributes.</summary>
    private static bool Is(string type, string name) =>
        type.StartsWith(name, StringComparison.Ordinal) && (type.Length == name.Length || type[name.Length] is '(' or ' ');

    private static (int Precision, int Scale)? Precision(string type)
    {
        var open = type.IndexOf('(', StringComparison.Ordinal);
        if (open < 0) return (10, 0);
        var parts = type[(open + 1)..type.IndexOf(')', open)].Split(',');
        var precision = int.Parse(parts[0], CultureInfo.InvariantCulture);
        return (precision, parts.Length > 1 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : 0);
    }

    private sealed class Values<T>(DataField field, Func<DbDataReader, int, T> read) : ParquetColumn(field) where T : struct
    {
        private readonly T?[] values = new T?[ParquetExport.RowGroupRows];

        public override void Add(DbDataReader reader, int ordinal, int row) => values[row] = reader.IsDBNull(ordinal) ? null : read(reader, ordinal);

        public override Task WriteAsync(ParquetRowGroupWriter group, int rows, CancellationToken ct) =>
            group.WriteAsync(Field, new ReadOnlyMemory<T?>(values, 0, rows), cancellationToken: ct);
    }

    private sealed class Text(DataField field) : ParquetColumn(field)
    {
        private readonly string?[] values = new string?[ParquetExport.RowGroupRows];

        public override void Add(DbDataReader reader, int ordinal, int row)
        {
            if (reader.IsDBNull(ordinal))
            {
                values[row] = null;
                return;
            }

            var value = reader.GetValue(ordinal);
            values[row] = value as string ?? Convert.ToString(value, CultureInfo.InvariantCulture);
        }

        public override Task WriteAsync(ParquetRowGroupWriter group, int rows, CancellationToken ct) =>
            group.WriteAsync(Field, new ArraySegment<string?>(values, 0, rows));
    }

    private sealed class Bytes(DataField field) : ParquetColumn(field)
    {
        private readonly byte[]?[] values = new byte[]?[ParquetExport.RowGroupRows];

        public override void Add(DbDataReader reader, int ordinal, int row) => values[row] = reader.IsDBNull(ordinal) ? null : (byte[])reader.GetValue(ordinal);

        public override Task WriteAsync(ParquetRowGroupWriter group, int rows, CancellationToken ct) =>
            group.WriteAsync(Field, new ArraySegment<byte[]?>(values, 0, rows));
    }
}

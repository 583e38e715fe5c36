using System.Buffers.Binary;
using System.Data.Common;
using System.IO.Compression;
using System.Xml.Linq;
using MiniExcelLibs;
using MiniExcelLibs.Attributes;
using MiniExcelLibs.OpenXml;

namespace AkshareWeb.Features.Tables;

/// <summary>
/// format=excel: MiniExcel writes the rows into a temporary file (a zip cannot be streamed to a socket), DATE and
/// DATETIME columns as date cells with a date format; the file is then sent with its header font made bold, which
/// MiniExcel has no option for: every part of the zip is copied as it is, compressed bytes and all, but the small
/// xl/styles.xml, which is written again with &lt;b/&gt; in the header's font.
/// </summary>
internal static class ExcelExport
{
    public const string MediaType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

    /// <summary>The cell style MiniExcel gives the header row (its cellXfs index).</summary>
    private const int HeaderStyle = 1;

    public static async Task WriteAsync(Microsoft.AspNetCore.Http.HttpResponse response, IEnumerable<IDictionary<string, object?>> rows,
        IReadOnlyList<(string Header, TableColumn Column)> columns, CancellationToken ct)
    {
        var configuration = new OpenXmlConfiguration
        {
            DynamicColumns = columns.Select(c => DateFormat(c.Column) is { } format ? new DynamicExcelColumn(c.Header) { Format = format } : null)
                .OfType<DynamicExcelColumn>().ToArray(),
        };
        var temporary = Path.Combine(Path.GetTempPath(), $"akshareweb-export-{Guid.NewGuid():N}.xlsx");
        try
        {
            await using (var output = File.Create(temporary))
            {
                await MiniExcel.SaveAsAsync(output, rows, configuration: configuration, cancellationToken: ct);
            }

            await using var input = File.OpenRead(temporary);
            var styles = await BoldHeaderStylesAsync(input, ct);
            if (styles is null || await ZipPartReplacement.PlanAsync(input, "xl/styles.xml", styles, ct) is not { } plan)
            {
                // A zip this code does not know how to copy (Zip64: over 4 GB): sent as MiniExcel wrote it.
                response.ContentLength = input.Length;
                input.Position = 0;
                await input.CopyToAsync(response.Body, ct);
                return;
            }

            response.ContentLength = plan.Length;
            await plan.WriteAsync(input, response.Body, ct);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>The Excel number format of a date or timestamp column, else null.</summary>
    public static string? DateFormat(TableColumn column) =>
        column.Type == "DATE" ? "yyyy-mm-dd"
        : column.Type.StartsWith("DATETIME", StringComparison.Ordinal) || column.Type.StartsWith("TIMESTAMP", StringComparison.Ordinal) ? "yyyy-mm-dd hh:mm:ss"
        : null;

    /// <summary>xl/styles.xml with the header style's font bold, or null when it does not have the expected shape.</summary>
    private static async Task<byte[]?> BoldHeaderStylesAsync(Stream xlsx, CancellationToken ct)
    {
        XDocument document;
        await using (var zip = await ZipArchive.CreateAsync(xlsx, ZipArchiveMode.Read, leaveOpen: true, entryNameEncoding: null, ct))
        {
            if (zip.GetEntry("xl/styles.xml") is not { } entry) return null;
            await using var styles = await entry.OpenAsync(ct);
            document = await XDocument.LoadAsync(styles, LoadOptions.None, ct);
        }

        var root = document.Root!;
        var ns = root.Name.Namespace;
        var header = root.Element(ns + "cellXfs")?.Elements(ns + "xf").ElementAtOrDefault(HeaderStyle);
        if (header?.Attribute("fontId") is not { } fontId || !int.TryParse(fontId.Value, out var font)) return null;
        if (root.Element(ns + "fonts")?.Elements(ns + "font").ElementAtOrDefault(font) is not { } headerFont) return null;
        if (headerFont.Element(ns + "b") is null) headerFont.AddFirst(new XElement(ns + "b"));
        using var buffer = new MemoryStream();
        await document.SaveAsync(buffer, SaveOptions.DisableFormatting, ct);
        return buffer.ToArray();
    }
}

/// <summary>
/// A zip copied with one part's content replaced: the other parts' local headers and compressed bytes are copied
/// unchanged, the new part is deflated in memory (it is small), and the central directory is written again with
/// the moved offsets. Zip64 archives are not handled (<see cref="PlanAsync"/> answers null).
/// </summary>
internal sealed class ZipPartReplacement
{
    private const uint LocalHeader = 0x04034b50, CentralHeader = 0x02014b50, EndOfDirectory = 0x06054b50;

    private readonly byte[] directory;
    private readonly byte[] end;
    private readonly (long Start, long Length, byte[]? Replacement)[] pieces;

    private ZipPartReplacement(byte[] directory, byte[] end, (long Start, long Length, byte[]? Replacement)[] pieces)
    {
        (this.directory, this.end, this.pieces) = (directory, end, pieces);
        Length = pieces.Sum(p => p.Replacement?.Length ?? p.Length) + directory.Length + end.Length;
    }

    /// <summary>The size of the zip that <see cref="WriteAsync"/> writes.</summary>
    public long Length { get; }

    public static async Task<ZipPartReplacement?> PlanAsync(Stream zip, string name, byte[] content, CancellationToken ct)
    {
        // The end of central directory record: 22 bytes and a comment of at most 65,535, at the end of the file.
        var tailLength = (int)Math.Min(zip.Length, 22 + 65_535);
        var tail = await ReadAsync(zip, zip.Length - tailLength, tailLength, ct);
        var at = tail.Length - 22;
        while (at >= 0 && BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(at)) != EndOfDirectory) at--;
        if (at < 0) return null;
        var end = tail[at..];
        var count = BinaryPrimitives.ReadUInt16LittleEndian(end.AsSpan(10));
        var directorySize = BinaryPrimitives.ReadUInt32LittleEndian(end.AsSpan(12));
        var directoryOffset = BinaryPrimitives.ReadUInt32LittleEndian(end.AsSpan(16));
        if (count == 0xFFFF || directorySize == uint.MaxValue || directoryOffset == uint.MaxValue) return null;
        var directory = await ReadAsync(zip, directoryOffset, (int)directorySize, ct);

        // Each part: where its record is in the directory and where its local header is in the file.
        var parts = new List<(int Record, long Offset, bool Replaced)>(count);
        for (int i = 0, p = 0; i < count; i++)
        {
            if (p + 46 > directory.Length || BinaryPrimitives.ReadUInt32LittleEndian(directory.AsSpan(p)) != CentralHeader) return null;
            var nameLength = BinaryPrimitives.ReadUInt16LittleEndian(directory.AsSpan(p + 28));
            var extraLength = BinaryPrimitives.ReadUInt16LittleEndian(directory.AsSpan(p + 30));
            var commentLength = BinaryPrimitives.ReadUInt16LittleEndian(directory.AsSpan(p + 32));
            var offset = BinaryPrimitives.ReadUInt32LittleEndian(directory.AsSpan(p + 42));
            var sizes = (BinaryPrimitives.ReadUInt32LittleEndian(directory.AsSpan(p + 20)), BinaryPrimitives.ReadUInt32LittleEndian(directory.AsSpan(p + 24)));
            if (offset == uint.MaxValue || sizes.Item1 == uint.MaxValue || sizes.Item2 == uint.MaxValue) return null;
            var partName = System.Text.Encoding.UTF8.GetString(directory, p + 46, nameLength);
            parts.Add((p, offset, partName == name));
            p += 46 + nameLength + extraLength + commentLength;
        }

        if (parts.Count(part => part.Replaced) != 1) return null;
        parts.Sort((a, b) => a.Offset.CompareTo(b.Offset));
        var pieces = new (long Start, long Length, byte[]? Replacement)[parts.Count];
        long written = 0;
        for (var i = 0; i < parts.Count; i++)
        {
            var (record, offset, replaced) = parts[i];
            var length = (i + 1 < parts.Count ? parts[i + 1].Offset : directoryOffset) - offset;
            BinaryPrimitives.WriteUInt32LittleEndian(directory.AsSpan(record + 42), checked((uint)written));
            byte[]? replacement = null;
            if (replaced)
            {
                var nameBytes = directory.AsSpan(record + 46, BinaryPrimitives.ReadUInt16LittleEndian(directory.AsSpan(record + 28))).ToArray();
                replacement = Deflated(directory.AsSpan(record), nameBytes, content);
            }

            pieces[i] = (offset, length, replacement);
            written += replacement?.Length ?? length;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(end.AsSpan(16), checked((uint)written));
        return new ZipPartReplacement(directory, end, pieces);
    }

    public async Task WriteAsync(Stream zip, Stream output, CancellationToken ct)
    {
        var buffer = new byte[1 << 16];
        foreach (var (start, length, replacement) in pieces)
        {
            if (replacement is not null)
            {
                await output.WriteAsync(replacement, ct);
                continue;
            }

            zip.Position = start;
            for (var left = length; left > 0;)
            {
                var read = await zip.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), ct);
                if (read == 0) throw new EndOfStreamException("the temporary xlsx ended early");
                await output.WriteAsync(buffer.AsMemory(0, read), ct);
                left -= read;
            }
        }

        await output.WriteAsync(directory, ct);
        await output.WriteAsync(end, ct);
    }

    /// <summary>
    /// The new part, local header and deflated content, and its central directory record (<paramref name="record"/>)
    /// updated to match: method deflate, no data descriptor, the new CRC-32 and sizes.
    /// </summary>
    private static byte[] Deflated(Span<byte> record, byte[] name, byte[] content)
    {
        using var compressed = new MemoryStream();
        using (var deflate = new DeflateStream(compressed, CompressionLevel.Optimal, leaveOpen: true)) deflate.Write(content);
        var crc = System.IO.Hashing.Crc32.HashToUInt32(content);
        var flags = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(record[8..]) & ~0x0008);
        BinaryPrimitives.WriteUInt16LittleEndian(record[8..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(record[10..], 8);
        BinaryPrimitives.WriteUInt32LittleEndian(record[16..], crc);
        BinaryPrimitives.WriteUInt32LittleEndian(record[20..], (uint)compressed.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record[24..], (uint)content.Length);

        var part = new byte[30 + name.Length + compressed.Length];
        var header = part.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(header, LocalHeader);
        record.Slice(6, 2).CopyTo(header[4..]); // version needed to extract
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(header[8..], 8);
        record.Slice(12, 4).CopyTo(header[10..]); // modification time and date
        BinaryPrimitives.WriteUInt32LittleEndian(header[14..], crc);
        BinaryPrimitives.WriteUInt32LittleEndian(header[18..], (uint)compressed.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[22..], (uint)content.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(header[26..], (ushort)name.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(header[28..], 0);
        name.CopyTo(header[30..]);
        compressed.GetBuffer().AsSpan(0, (int)compressed.Length).CopyTo(header[(30 + name.Length)..]);
        return part;
    }

    private static async Task<byte[]> ReadAsync(Stream zip, long offset, int length, CancellationToken ct)
    {
        var bytes = new byte[length];
        zip.Position = offset;
        await zip.ReadExactlyAsync(bytes, ct);
        return bytes;
    }
}

using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using AkshareWeb.Features.Common;
using Microsoft.AspNetCore.Connections;

namespace AkshareWeb.Api.Setup;

/// <summary>
/// A request line whose target holds bytes outside ASCII (curl -g sends a Chinese column name that way, as it was
/// typed) is refused by Kestrel before any middleware runs: it reads the target as ASCII (Http1Connection.ParseTarget)
/// and answers 400 with an empty body, which tells the user nothing. This connection middleware reads the first request
/// line of each connection before Kestrel's parser does and answers such a line itself, in the envelope, saying to
/// percent-encode the URL and showing this one so encoded. It consumes nothing of any other connection: a valid
/// request line, TLS, HTTP/2's preface all stay in the pipe, unread, for Kestrel. Later requests on a kept-alive
/// connection are Kestrel's alone (where they start is known only to its HTTP parser).
/// </summary>
public static class RawRequestTargets
{
    /// <summary>How long the first line may take to arrive before it is left to Kestrel (and its own time limits).</summary>
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    /// <summary>Kestrel's default MaxRequestLineSize: a longer line is Kestrel's to refuse.</summary>
    private const int MaxLine = 8 * 1024;

    /// <summary>The head read (line and headers) before answering, so the client's request has been taken whole.</summary>
    private const int MaxHead = 64 * 1024;

    /// <summary>The envelope as the API writes it, its sentence readable in a terminal (curl shows 股票代码, not \u80a1...).</summary>
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// On every endpoint Kestrel opens (ConfigureEndpointDefaults keeps one action: a second call would replace this
    /// one). An HTTPS endpoint from configuration gets its TLS after it, so this sees the handshake and lets it pass.
    /// </summary>
    public static IWebHostBuilder UseRawTargetAnswers(this IWebHostBuilder web) =>
        web.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen => listen.Use(next => connection => InspectAsync(connection, next))));

    private static async Task InspectAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        byte[]? head = null;
        using (var wait = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed))
        {
            wait.CancelAfter(Wait);
            try
            {
                head = await ReadRawHeadAsync(connection.Transport.Input, wait.Token);
            }
            catch (OperationCanceledException)
            {
                // Slow, or gone: whatever was read stays in the pipe for Kestrel.
            }
        }

        if (head is null)
        {
            await next(connection);
            return;
        }

        await connection.Transport.Output.WriteAsync(Answer(head), connection.ConnectionClosed);
    }

    /// <summary>
    /// The request's head (its line and headers, as far as they came) when the first line's target holds a byte
    /// outside ASCII, the head then consumed; otherwise null, with nothing consumed.
    /// </summary>
    private static async Task<byte[]?> ReadRawHeadAsync(PipeReader input, CancellationToken ct)
    {
        while (true)
        {
            var result = await input.ReadAsync(ct);
            var buffer = result.Buffer;
            var verdict = Inspect(buffer);
            var more = !result.IsCompleted && !result.IsCanceled;
            if (verdict == Verdict.Raw)
            {
                var end = HeadEnd(buffer);
                if (end is null && more && buffer.Length < MaxHead)
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                    continue;
                }

                var head = buffer.Slice(0, Math.Min(buffer.Length, MaxHead)).ToArray();
                input.AdvanceTo(end ?? buffer.End);
                return head;
            }

            if (verdict == Verdict.More && more && buffer.Length < MaxLine)
            {
                input.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }

            input.AdvanceTo(buffer.Start);
            return null;
        }
    }

    internal enum Verdict
    {
        /// <summary>Not an HTTP/1 request line with a raw byte in its target: Kestrel's.</summary>
        Pass,

        /// <summary>So far a method and the start of a path, nothing outside ASCII yet.</summary>
        More,

        /// <summary>A method, then a path with a byte outside ASCII.</summary>
        Raw,
    }

    /// <summary>Reads <c>METHOD SP /target</c> as far as the bytes go: a method of capital letters, an origin-form target.</summary>
    internal static Verdict Inspect(ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        var method = 0;
        byte b;
        while (true)
        {
            if (!reader.TryRead(out b)) return Verdict.More;
            if (b == (byte)' ') break;
            if (b is < (byte)'A' or > (byte)'Z' || ++method > 20) return Verdict.Pass;
        }

        if (method == 0) return Verdict.Pass;
        if (!reader.TryRead(out b)) return Verdict.More;
        if (b != (byte)'/') return Verdict.Pass;
        while (reader.TryRead(out b))
        {
            if (b >= 0x80) return Verdict.Raw;
            if (b is (byte)' ' or (byte)'\r' or (byte)'\n') return Verdict.Pass;
        }

        return Verdict.More;
    }

    /// <summary>Where the head ends (after its empty line), or null while it has not come whole.</summary>
    private static SequencePosition? HeadEnd(ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        while (reader.TryAdvanceTo((byte)'\n'))
        {
            if (reader.IsNext((byte)'\n', advancePast: true) || reader.IsNext("\r\n"u8, advancePast: true)) return reader.Position;
        }

        return null;
    }

    /// <summary>The 400 in the envelope, closing the connection; detail.url is the target with every byte outside ASCII percent-encoded.</summary>
    internal static byte[] Answer(ReadOnlySpan<byte> head)
    {
        var line = head[..(head.IndexOf((byte)'\n') is var lf and >= 0 ? lf : head.Length)];
        var target = line[(line.IndexOf((byte)' ') + 1)..];
        target = target[..(target.IndexOfAny((byte)' ', (byte)'\r') is var stop and >= 0 ? stop : target.Length)];
        var body = JsonSerializer.SerializeToUtf8Bytes(new ErrorEnvelope(ErrorCodes.BadFormat,
            "the URL holds raw bytes outside ASCII (a Chinese column name as it was typed?), which HTTP does not carry: percent-encode them "
            + "as UTF-8, e.g. with curl -G and -d 'filter[%E8%82%A1%E7%A5%A8%E4%BB%A3%E7%A0%81]=000001' for the column 股票代码; detail.url is this URL so encoded",
            new { Url = PercentEncoded(target) }), Json);
        var headers = Encoding.ASCII.GetBytes(
            "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\n"
            + $"Content-Length: {body.Length}\r\nConnection: close\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n\r\n");
        return [.. headers, .. body];
    }

    private static string PercentEncoded(ReadOnlySpan<byte> target)
    {
        var text = new StringBuilder(target.Length * 3);
        foreach (var b in target)
        {
            if (b is > 0x20 and < 0x7F) text.Append((char)b);
            else text.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }
}

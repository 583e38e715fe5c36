using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AkshareWeb.Features.Collection;

/// <summary>Configuration section <c>AkTools</c>.</summary>
public sealed class AkToolsOptions
{
    public const string Section = "AkTools";

    public string BaseUrl { get; set; } = "http://127.0.0.1:8080";
    /// <summary>For a whole answer, however large.</summary>
    public int TimeoutSeconds { get; set; } = 600;
    public int MaxRetries { get; set; } = 3;
    public double RetryBaseDelaySeconds { get; set; } = 1;
}

/// <summary>Why a fetch from AKTools failed, in words an operator can act on (error code 5003).</summary>
public sealed class AkToolsException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>AKTools' way of saying the function returned no data: a run with 0 rows, not a failure.</summary>
    public bool EmptyResult { get; init; }
}

/// <summary>
/// AKShare's HTTP server: <c>GET /api/public/{function}?kwarg=value</c> answers the DataFrame as a JSON array of
/// row objects. It answers HTTP 200 with <c>{"error": "..."}</c> for an unknown function or an empty result,
/// and 500 when the function raised. Rows are parsed one at a time from the response stream, so a million-row
/// answer never exists as one string. Transient failures (unreachable, 502-504, time-out before the first
/// byte) are retried with backoff; nothing is retried once rows have been handed out.
/// </summary>
public sealed class AkToolsClient(HttpClient http, IOptions<AkToolsOptions> options, ILogger<AkToolsClient> logger)
{
    /// <summary>An answer whose rows are read batch by batch; disposing it closes the response.</summary>
    public sealed class Answer(long? ContentLength, RowReader reader) : IDisposable
    {
        public long? ContentLength { get; } = ContentLength;
        public RowReader Rows { get; } = reader;
        public long BytesRead() => Rows.BytesRead;
        public void Dispose() => Rows.Dispose();
    }

    public async Task<Answer> FetchAsync(string function, IReadOnlyDictionary<string, string> parameters, CancellationToken ct)
    {
        var url = BuildUrl(function, parameters);
        var attempt = 0;
        while (true)
        {
            attempt++;
            HttpResponseMessage? response = null;
            try
            {
                response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct);
                if ((int)response.StatusCode is 502 or 503 or 504 && attempt <= options.Value.MaxRetries)
                {
                    throw new HttpRequestException($"AKTools answered HTTP {(int)response.StatusCode}", null, response.StatusCode);
                }

                if (!response.IsSuccessStatusCode)
                {
                    var body = await ReadShortAsync(response, ct);
                    throw new AkToolsException($"AKTools answered HTTP {(int)response.StatusCode} for {function}: {body}");
                }

                return await OpenRowsAsync(function, response, ct);
            }
            catch (Exception e) when (Transient(e, ct) && attempt <= options.Value.MaxRetries)
            {
                response?.Dispose();
                var delay = TimeSpan.FromSeconds(options.Value.RetryBaseDelaySeconds * Math.Pow(2, attempt - 1));
                logger.LogWarning("AKTools call {Function} failed ({Reason}); retry {Attempt} in {Delay}", function, e.Message, attempt, delay);
                await Task.Delay(delay, ct);
            }
            catch (Exception e) when (Transient(e, ct))
            {
                response?.Dispose();
                throw new AkToolsException(Describe(e, function), e);
            }
        }
    }

    private string BuildUrl(string function, IReadOnlyDictionary<string, string> parameters)
    {
        var query = new StringBuilder();
        foreach (var (name, value) in parameters)
        {
            query.Append(query.Length == 0 ? '?' : '&').Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(value));
        }

        return $"{options.Value.BaseUrl.TrimEnd('/')}/api/public/{Uri.EscapeDataString(function)}{query}";
    }

    private static bool Transient(Exception e, CancellationToken ct) => e switch
    {
        HttpRequestException => true,
        TaskCanceledException when !ct.IsCancellationRequested => true, // HttpClient's own time-out
        IOException => true,
        _ => false,
    };

    private string Describe(Exception e, string function) => e switch
    {
        HttpRequestException { InnerException: SocketException s } =>
            $"AKTools is unreachable at {options.Value.BaseUrl} ({s.SocketErrorCode}) while calling {function}",
        HttpRequestException { StatusCode: { } status } => $"AKTools answered HTTP {(int)status} for {function} after {options.Value.MaxRetries} retries",
        TaskCanceledException => $"AKTools did not answer {function} within {options.Value.TimeoutSeconds} s",
        _ => $"AKTools call {function} failed: {e.Message}",
    };

    private static async Task<string> ReadShortAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        return text.Length > 500 ? text[..500] + "…" : text;
    }

    private static async Task<Answer> OpenRowsAsync(string function, HttpResponseMessage response, CancellationToken ct)
    {
        var stream = new CountingStream(await response.Content.ReadAsStreamAsync(ct));
        // The first significant byte says whether this is rows ('[') or AKTools' error object ('{').
        var first = await PeekFirstByteAsync(stream, ct);
        if (first == (byte)'{')
        {
            string? error;
            try
            {
                using var document = await JsonDocument.ParseAsync(stream.Replay(), cancellationToken: ct);
                error = document.RootElement.TryGetProperty("error", out var e) ? e.ToString() : document.RootElement.GetRawText();
            }
            catch (JsonException j)
            {
                response.Dispose();
                throw new AkToolsException($"AKTools answered malformed JSON for {function}: {j.Message}", j);
            }

            response.Dispose();
            if (error.Contains("为空", StringComparison.Ordinal))
            {
                throw new AkToolsException($"{function} returned no data: {error}") { EmptyResult = true };
            }

            throw new AkToolsException(error.Contains("未找到该接口", StringComparison.Ordinal)
                ? $"unknown interface {function}: AKTools says \"{error}\""
                : $"AKTools reported an error for {function}: {error}");
        }

        if (first != (byte)'[')
        {
            response.Dispose();
            throw new AkToolsException(first is null
                ? $"AKTools answered an empty body for {function}"
                : $"AKTools answered something that is not JSON for {function} (first byte '{(char)first}')");
        }

        return new Answer(response.Content.Headers.ContentLength, new RowReader(function, stream.Replay(), response, () => stream.BytesRead));
    }

    private static async Task<byte?> PeekFirstByteAsync(CountingStream stream, CancellationToken ct)
    {
        while (true)
        {
            var b = await stream.ReadBufferedByteAsync(ct);
            if (b is null) return null;
            if (b is not ((byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t' or 0xEF or 0xBB or 0xBF)) return b;
        }
    }

    /// <summary>Counts bytes for progress, and can replay the few bytes read while peeking.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        private readonly MemoryStream peeked = new();
        private bool replaying;
        private long replayPosition;

        public long BytesRead { get; private set; }

        public async Task<byte?> ReadBufferedByteAsync(CancellationToken ct)
        {
            var one = new byte[1];
            var read = await inner.ReadAsync(one, ct);
            if (read == 0) return null;
            BytesRead++;
            peeked.WriteByte(one[0]);
            return one[0];
        }

        public Stream Replay()
        {
            replaying = true;
            return this;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (replaying && replayPosition < peeked.Length)
            {
                var available = (int)Math.Min(buffer.Length, peeked.Length - replayPosition);
                peeked.GetBuffer().AsMemory((int)replayPosition, available).CopyTo(buffer);
                replayPosition += available;
                return available;
            }

            var read = await inner.ReadAsync(buffer, cancellationToken);
            BytesRead += read;
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                peeked.Dispose();
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

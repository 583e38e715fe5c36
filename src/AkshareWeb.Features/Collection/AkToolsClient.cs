using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Registry;
using Polly.Timeout;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Parameters;

namespace AkshareWeb.Features.Collection;

/// <summary>
/// AKShare's HTTP server, AKTools 0.0.91: <c>GET /api/public/{function}?kwarg=value</c> evaluates the call and
/// answers the DataFrame as a JSON array of row objects (pandas' records: datetimes as <c>2024-01-02T00:00:00.000</c>,
/// NaN as null). Its other answers, all from its code: 404 <c>{"error": "未找到该接口…"}</c> for a function AKShare
/// lacks, 404 <c>{"error": "该接口返回数据为空…"}</c> when the function returned None (no data for these
/// parameters), 404 <c>{"error": "请输入正确的参数错误 …"}</c> when it raised KeyError, and a plain-text 500 for any
/// other exception, which in practice is the upstream site refusing, timing out or changing (a ban among them).
/// Rows are parsed one at a time from the response stream, so a million-row answer never exists as one string.
/// Transient failures (unreachable, 500, 502-504, time-out before the first byte) are retried with back-off
/// (<see cref="AkToolsResilience"/>), and tell the site family's pause bookkeeping (<see cref="SitePauses"/>),
/// which holds every call of a family that keeps failing; nothing is retried once rows have been handed out.
/// Nothing leaves without passing <see cref="AkToolsArguments"/>: AKTools would run a value that leaves its string
/// literal as Python.
/// </summary>
public sealed class AkToolsClient(
    HttpClient http, IOptions<AkToolsOptions> options, ResiliencePipelineProvider<string> pipelines, SitePauses pauses, AkshareMetrics? metrics = null)
{
    /// <summary>An answer whose rows are read batch by batch; disposing it closes the response.</summary>
    public sealed class Answer(long? ContentLength, RowReader reader) : IDisposable
    {
        public long? ContentLength { get; } = ContentLength;
        public RowReader Rows { get; } = reader;
        public long BytesRead() => Rows.BytesRead;
        public void Dispose() => Rows.Dispose();
    }

    /// <param name="beforeTry">Awaited before each try with its number (1, 2, ...): a parted run waits there for its
    /// turn under the site's rate, so a retry is as polite as a first call.</param>
    /// <param name="family">The upstream site family the calls count under (<see cref="SiteRates"/>); without it,
    /// the one the function's name tells.</param>
    /// <param name="waitWhilePaused">False for a call someone waits for at the screen (a script test): while its
    /// family is paused it fails at once with the pause's reason instead of waiting out the cool-down.</param>
    public async Task<Answer> FetchAsync(string function, IReadOnlyDictionary<string, string> parameters, CancellationToken ct,
        Func<int, CancellationToken, Task>? beforeTry = null, string? family = null, bool waitWhilePaused = true)
    {
        if (AkToolsArguments.FunctionProblem(function) is { } badFunction)
        {
            throw new AkToolsException($"AKTools was not called: {badFunction}") { Kind = AkToolsFailures.ParameterError };
        }

        if (AkToolsArguments.Problems(parameters) is [_, ..] problems)
        {
            throw new AkToolsException("AKTools was not called: " + string.Join("; ", problems.Select(p => $"{p.Field} {p.Message}"))) { Kind = AkToolsFailures.ParameterError };
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var answer = await CallAsync(function, parameters, beforeTry, new SiteCall(family ?? SiteRates.FamilyOf(function, null), waitWhilePaused), ct);
            metrics?.AkToolsCall(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds, null);
            return answer;
        }
        catch (AkToolsException e)
        {
            metrics?.AkToolsCall(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds, AkToolsFailures.Of(e));
            throw;
        }
    }

    private async Task<Answer> CallAsync(
        string function, IReadOnlyDictionary<string, string> parameters, Func<int, CancellationToken, Task>? beforeTry, SiteCall site, CancellationToken ct)
    {
        var url = BuildUrl(function, parameters);
        var tries = new AkToolsTries(function, site);
        var context = ResilienceContextPool.Shared.Get(ct);
        context.Properties.Set(AkToolsResilience.TriesKey, tries);
        HttpResponseMessage response;
        try
        {
            response = await pipelines.GetPipeline<HttpResponseMessage>(AkToolsResilience.Calls).ExecuteAsync(
                static (c, state) => state.Client.TryAsync(state.Url, state.Tries, state.BeforeTry, c.CancellationToken),
                context, (Client: this, Url: url, Tries: tries, BeforeTry: beforeTry));
        }
        catch (Exception e) when (AkToolsResilience.IsTransient(e, ct))
        {
            throw new AkToolsException(Describe(e, function, tries.Tries), e);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }

        try
        {
            if (AkToolsResilience.IsTransient(response))
            {
                var failure = new HttpRequestException($"AKTools answered HTTP {(int)response.StatusCode}", null, response.StatusCode);
                throw new AkToolsException(Describe(failure, function, tries.Tries), failure);
            }

            if (response.StatusCode == HttpStatusCode.NotFound && IsJson(response))
            {
                throw await RefusalAsync(function, response, ct);
            }

            if (!response.IsSuccessStatusCode)
            {
                var body = await ReadShortAsync(response, ct);
                throw new AkToolsException($"AKTools answered HTTP {(int)response.StatusCode} for {function}{body}");
            }

            return await OpenRowsAsync(function, response, ct);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>
    /// One try: it waits while its site family is paused (no try spent), then for its turn under the rate, then
    /// goes under the per-try time-out; what came back is told to the family's pause bookkeeping, whose verdict
    /// decides whether a failure spends one of the call's tries.
    /// </summary>
    private async ValueTask<HttpResponseMessage> TryAsync(string url, AkToolsTries tries, Func<int, CancellationToken, Task>? beforeTry, CancellationToken ct)
    {
        if (await pauses.WaitAsync(tries.Site, ct) is { } paused)
        {
            throw new AkToolsException($"AKTools was not called for {tries.Function}: {paused}; try again after the pause") { Kind = AkToolsFailures.UpstreamError };
        }

        try
        {
            tries.Tries++;
            if (beforeTry is not null) await beforeTry(tries.Tries, ct);
            metrics?.AkToolsTry(tries.Site.Family);
            var response = await pipelines.GetPipeline<HttpResponseMessage>(AkToolsResilience.Try).ExecuteAsync(
                static async (state, token) => await state.Http.GetAsync(state.Url, HttpCompletionOption.ResponseHeadersRead, token), (Http: http, Url: url), ct);
            if (AkToolsResilience.IsTransient(response)) tries.LastVerdict = await pauses.FailedAsync(tries.Site, $"AKTools answered HTTP {(int)response.StatusCode}", ct);
            else await pauses.SucceededAsync(tries.Site, ct);
            return response;
        }
        catch (Exception e) when (AkToolsResilience.IsTransient(e, ct) && !Unreachable(e))
        {
            tries.LastVerdict = await pauses.FailedAsync(tries.Site, e.Message, ct);
            throw;
        }
        catch (Exception e) when (AkToolsResilience.IsTransient(e, ct))
        {
            // AKTools itself does not answer: nothing the upstream site did, so it neither pauses the family nor ends a streak.
            tries.LastVerdict = SiteVerdict.Counted;
            await pauses.ReleaseProbeAsync(tries.Site);
            throw;
        }
        catch (OperationCanceledException)
        {
            await pauses.ReleaseProbeAsync(tries.Site);
            throw;
        }
    }

    private static bool Unreachable(Exception e) =>
        e is HttpRequestException { InnerException: SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostNotFound or SocketError.HostUnreachable or SocketError.NetworkUnreachable } };

    /// <summary>Spaces go as %20 (Uri.EscapeDataString never writes +): AKTools would read a + as a space anyway, but
    /// a + is also what it turns a literal plus into, so only %20 says what is meant.</summary>
    private string BuildUrl(string function, IReadOnlyDictionary<string, string> parameters)
    {
        var query = new StringBuilder();
        foreach (var (name, value) in parameters)
        {
            query.Append(query.Length == 0 ? '?' : '&').Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(value));
        }

        return $"{options.Value.BaseUrl.TrimEnd('/')}/api/public/{function}{query}";
    }

    private static bool IsJson(HttpResponseMessage response) =>
        response.Content.Headers.ContentType?.MediaType?.EndsWith("json", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>AKTools' three 404 answers, each with its own meaning (see the class summary).</summary>
    private static async Task<AkToolsException> RefusalAsync(string function, HttpResponseMessage response, CancellationToken ct)
    {
        string error;
        try
        {
            using var document = JsonDocument.Parse(await ReadLimitedAsync(response, 64 * 1024, ct));
            error = document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out var e)
                ? e.ToString()
                : document.RootElement.GetRawText();
        }
        catch (JsonException j)
        {
            return new AkToolsException($"AKTools answered HTTP 404 for {function} with malformed JSON: {j.Message}", j);
        }

        return Refusal(function, error, 404);
    }

    private static AkToolsException Refusal(string function, string error, int status)
    {
        error = error.Length > 500 ? error[..500] + "…" : error;
        if (error.Contains("为空", StringComparison.Ordinal))
        {
            return new AkToolsException($"AKShare had no data for {function} with these parameters (it returned nothing; AKTools: \"{error}\")") { EmptyResult = true };
        }

        if (error.Contains("未找到该接口", StringComparison.Ordinal))
        {
            return new AkToolsException(
                $"AKShare on the AKTools host has no interface {function}: upgrade AKShare there, or correct the interface the script names (AKTools: \"{error}\")")
            { Kind = AkToolsFailures.NoInterface };
        }

        if (error.Contains("参数错误", StringComparison.Ordinal))
        {
            return new AkToolsException($"AKShare refused the parameters of {function} (KeyError): \"{error}\"") { Kind = AkToolsFailures.ParameterError };
        }

        return new AkToolsException($"AKTools reported an error for {function} (HTTP {status}): {error}");
    }

    private string Describe(Exception e, string function, int tries) => e switch
    {
        HttpRequestException { InnerException: SocketException s } =>
            $"AKTools is unreachable at {options.Value.BaseUrl} ({s.SocketErrorCode}) while calling {function} ({Tries(tries)})",
        HttpRequestException { StatusCode: HttpStatusCode.InternalServerError } =>
            $"the upstream site behind {function} failed: AKShare raised an error inside AKTools (HTTP 500) on each of {Tries(tries)}",
        HttpRequestException { StatusCode: { } status } => $"AKTools answered HTTP {(int)status} for {function} on each of {Tries(tries)}",
        TaskCanceledException or TimeoutRejectedException => $"AKTools did not answer {function} within {options.Value.TimeoutSeconds} s ({Tries(tries)})",
        _ => $"AKTools call {function} failed: {e.Message} ({Tries(tries)})",
    };

    private static string Tries(int tries) => tries == 1 ? "1 try" : $"{tries} tries";

    /// <summary>
    /// A short plain-text body becomes part of the message (": text"); an HTML page or a long body does not: it is
    /// a proxy's or server's page, not a reason a user can read.
    /// </summary>
    private static async Task<string> ReadShortAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.Content.Headers.ContentType?.MediaType is { } type && type.Contains("html", StringComparison.OrdinalIgnoreCase)) return "";
        var text = (await ReadLimitedAsync(response, 4096, ct)).Trim();
        return text.Length is 0 or > 300 || text.StartsWith('<') ? "" : ": " + text;
    }

    private static async Task<string> ReadLimitedAsync(HttpResponseMessage response, int limit, CancellationToken ct)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        var buffer = new byte[limit];
        var filled = 0;
        int read;
        while (filled < limit && (read = await stream.ReadAsync(buffer.AsMemory(filled), ct)) > 0) filled += read;
        return Encoding.UTF8.GetString(buffer, 0, filled);
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
            throw Refusal(function, error, 200);
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

using System.Buffers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using AkshareWeb.Api.Setup;
using AkshareWeb.Tests.Infrastructure;

namespace AkshareWeb.Tests.Host;

/// <summary>The service on a real loopback port: a request line reaches Kestrel as the client wrote it.</summary>
public sealed class LoopbackApp : AkshareWebApp
{
    public LoopbackApp() => UseKestrel(0);

    public Uri BaseAddress { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        BaseAddress = StartOnLoopback();
    }
}

/// <summary>
/// A URL with raw UTF-8 in it, as <c>curl -g '…?filter[股票代码]=000001'</c> sends it, is answered in the envelope with a
/// sentence and the URL percent-encoded, where Kestrel alone answers an empty 400; every other request line reaches
/// Kestrel untouched, on the same connection too. Sent over a socket, byte for byte.
/// </summary>
public sealed class RawRequestTargetTests(LoopbackApp app) : IClassFixture<LoopbackApp>
{
    private const string Encoded = "/api/interfaces/?keyword=%E6%9D%A0%E6%9D%86%E7%8E%87&filter[%E8%82%A1%E7%A5%A8%E4%BB%A3%E7%A0%81]=000001";

    [Fact]
    public async Task A_url_with_raw_utf8_is_a_400_in_the_envelope_that_says_to_percent_encode_and_gives_the_url_encoded()
    {
        using var connection = await RawConnection.OpenAsync(app.BaseAddress);
        await connection.SendAsync(Encoding.UTF8.GetBytes(
            "GET /api/interfaces/?keyword=杠杆率&filter[股票代码]=000001 HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"));

        var answer = await connection.ReadResponseAsync();
        Assert.Equal("HTTP/1.1 400 Bad Request", answer.StatusLine);
        Assert.Equal("close", answer.Headers["Connection"]);
        Assert.StartsWith("application/json", answer.Headers["Content-Type"], StringComparison.Ordinal);
        var envelope = JsonNode.Parse(answer.Body)!;
        Assert.Equal(3002, envelope["code"]!.GetValue<int>());
        Assert.Contains("percent-encode", envelope["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(Encoded, envelope["detail"]!["url"]!.GetValue<string>());
        Assert.True(await connection.ClosedAsync(), "the connection stays open after the answer");

        // The URL the answer gives is one the service takes.
        var admin = await app.AdminAsync();
        await (await admin.GetAsync(envelope["detail"]!["url"]!.GetValue<string>())).ExpectAsync(200, 0);
    }

    [Fact]
    public async Task A_raw_url_that_comes_in_pieces_is_answered_once_its_head_has_come()
    {
        using var connection = await RawConnection.OpenAsync(app.BaseAddress);
        await connection.SendAsync("GET /api/tables/?q="u8.ToArray());
        await Task.Delay(200);
        await connection.SendAsync([0xE6, 0x9D]);
        await Task.Delay(200);
        await connection.SendAsync([0xA0, .. Encoding.ASCII.GetBytes(" HTTP/1.1\r\nHost: 127.0.0.1\r\n")]);
        await Task.Delay(200);
        await connection.SendAsync("\r\n"u8.ToArray());

        var answer = await connection.ReadResponseAsync();
        Assert.Equal("HTTP/1.1 400 Bad Request", answer.StatusLine);
        Assert.Equal("/api/tables/?q=%E6%9D%A0", JsonNode.Parse(answer.Body)!["detail"]!["url"]!.GetValue<string>());
    }

    [Fact]
    public async Task Valid_requests_one_after_another_on_a_kept_alive_connection_are_kestrels_as_sent()
    {
        var admin = await app.AdminAsync();
        var token = admin.DefaultRequestHeaders.Authorization!.Parameter;
        using var connection = await RawConnection.OpenAsync(app.BaseAddress);

        // The first line in pieces, percent-encoded Chinese in its query; then two more requests on the same connection.
        await connection.SendAsync("GE"u8.ToArray());
        await Task.Delay(200);
        await connection.SendAsync(Encoding.ASCII.GetBytes($"T {Encoded} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"));
        var first = await connection.ReadResponseAsync();
        Assert.Equal("HTTP/1.1 200 OK", first.StatusLine);
        Assert.Equal(0, JsonNode.Parse(first.Body)!["code"]!.GetValue<int>());

        await connection.SendAsync("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"u8.ToArray());
        var second = await connection.ReadResponseAsync();
        Assert.Equal("HTTP/1.1 200 OK", second.StatusLine);

        await connection.SendAsync(Encoding.ASCII.GetBytes($"GET /api/auth/me HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"));
        var third = await connection.ReadResponseAsync();
        Assert.Equal("HTTP/1.1 200 OK", third.StatusLine);
        Assert.Equal("admin", JsonNode.Parse(third.Body)!["data"]!["username"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_connection_silent_for_longer_than_the_middleware_waits_is_kestrels_and_its_request_is_answered()
    {
        // The middleware stops waiting for a first line after 5 s and hands the connection on, its read cancelled.
        using var connection = await RawConnection.OpenAsync(app.BaseAddress);
        await Task.Delay(TimeSpan.FromSeconds(6));
        await connection.SendAsync("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"u8.ToArray());
        Assert.Equal("HTTP/1.1 200 OK", (await connection.ReadResponseAsync()).StatusLine);
    }

    [Fact]
    public async Task Later_on_a_kept_alive_connection_a_raw_url_meets_kestrel_alone_which_refuses_it_before_any_middleware()
    {
        // What the connection middleware is there for, seen where it does not reach: Kestrel's own answer is a 400
        // without a body (its parser reads the target as ASCII), so no middleware of the app ever sees the request.
        using var connection = await RawConnection.OpenAsync(app.BaseAddress);
        await connection.SendAsync("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"u8.ToArray());
        Assert.Equal("HTTP/1.1 200 OK", (await connection.ReadResponseAsync()).StatusLine);

        await connection.SendAsync(Encoding.UTF8.GetBytes("GET /api/interfaces/?keyword=杠杆率 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
        var answer = await connection.ReadResponseAsync();
        Assert.Equal("HTTP/1.1 400 Bad Request", answer.StatusLine);
        Assert.Equal("", answer.Body);
    }

    [Theory]
    [InlineData("", "More")]
    [InlineData("GET", "More")]
    [InlineData("GET /api/tables", "More")]
    [InlineData("GET /api/tables HTTP/1.1\r\n", "Pass")]
    [InlineData("GET /api/tables?q=%E6%9D%A0 HTTP/1.1\r\n", "Pass")]
    [InlineData("GET /api/tables?q=\u00E6", "Raw")]
    [InlineData("POST /\u00E6\u009D\u00A0 HTTP/1.1\r\n", "Raw")]
    [InlineData("get /\u00E6", "Pass")]
    [InlineData("GET http://host/\u00E6", "Pass")]
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "Pass")]
    [InlineData("\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u00fc\u0003\u0003", "Pass")]
    public void Only_an_http1_request_line_whose_path_holds_a_raw_byte_is_taken(string latin1, string verdict)
    {
        // Latin-1 makes each character one byte: \u00E6 is the byte 0xE6.
        Assert.Equal(verdict, RawRequestTargets.Inspect(new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(latin1))).ToString());
    }

    private sealed record RawResponse(string StatusLine, Dictionary<string, string> Headers, string Body);

    /// <summary>One TCP connection, written and read byte for byte: HTTP/1.1 answers with a length, chunked, or to the end.</summary>
    private sealed class RawConnection : IDisposable
    {
        private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
        private readonly TcpClient client = new() { NoDelay = true };
        private readonly List<byte> unread = [];
        private NetworkStream stream = null!;

        public static async Task<RawConnection> OpenAsync(Uri address)
        {
            var connection = new RawConnection();
            await connection.client.ConnectAsync(address.Host, address.Port);
            connection.stream = connection.client.GetStream();
            return connection;
        }

        public async Task SendAsync(byte[] bytes)
        {
            await stream.WriteAsync(bytes);
            await stream.FlushAsync();
        }

        public async Task<RawResponse> ReadResponseAsync()
        {
            var status = await LineAsync();
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            for (var line = await LineAsync(); line.Length > 0; line = await LineAsync())
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }

            var body = new List<byte>();
            if (headers.TryGetValue("Content-Length", out var length))
            {
                body.AddRange(await BytesAsync(int.Parse(length, System.Globalization.CultureInfo.InvariantCulture)));
            }
            else if (headers.TryGetValue("Transfer-Encoding", out var coding) && coding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
            {
                for (var size = ChunkSize(await LineAsync()); size > 0; size = ChunkSize(await LineAsync()))
                {
                    body.AddRange(await BytesAsync(size));
                    await LineAsync();
                }

                await LineAsync();
            }
            else
            {
                while (await FillAsync())
                {
                }

                body.AddRange(unread);
                unread.Clear();
            }

            return new RawResponse(status, headers, Encoding.UTF8.GetString(body.ToArray()));
        }

        /// <summary>True when the server has closed the connection and nothing more came.</summary>
        public async Task<bool> ClosedAsync() => unread.Count == 0 && !await FillAsync();

        public void Dispose() => client.Dispose();

        private static int ChunkSize(string line) => Convert.ToInt32(line.Split(';')[0].Trim(), 16);

        private async Task<bool> FillAsync()
        {
            var buffer = new byte[4096];
            int read;
            try
            {
                read = await stream.ReadAsync(buffer).AsTask().WaitAsync(Patience);
            }
            catch (IOException)
            {
                // A reset is a close too.
                return false;
            }

            unread.AddRange(buffer.AsSpan(0, read).ToArray());
            return read > 0;
        }

        private async Task<string> LineAsync()
        {
            while (true)
            {
                for (var i = 0; i + 1 < unread.Count; i++)
                {
                    if (unread[i] != '\r' || unread[i + 1] != '\n') continue;
                    var line = Encoding.Latin1.GetString(unread.GetRange(0, i).ToArray());
                    unread.RemoveRange(0, i + 2);
                    return line;
                }

                if (!await FillAsync()) throw new EndOfStreamException("the connection closed in the middle of a line");
            }
        }

        private async Task<byte[]> BytesAsync(int count)
        {
            while (unread.Count < count)
            {
                if (!await FillAsync()) throw new EndOfStreamException($"the connection closed {count - unread.Count} bytes before the end of the body");
            }

            var bytes = unread.GetRange(0, count).ToArray();
            unread.RemoveRange(0, count);
            return bytes;
        }
    }
}

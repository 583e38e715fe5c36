using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace AkshareWeb.Tests.Infrastructure;

/// <summary>
/// A loopback TCP proxy in front of the test database server, so a test can take the database away from the
/// service and give it back: <see cref="Cut"/> drops every open connection and refuses new ones (accepted and
/// closed at once, as a server that is down answers), <see cref="Restore"/> lets them through again. Listens on
/// 127.0.0.1 only, forwards to one fixed address only, and holds at most <see cref="MaxConnections"/> pairs.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    public const int MaxConnections = 200;

    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly string targetHost;
    private readonly int targetPort;
    private readonly ConcurrentDictionary<Pair, byte> pairs = new();
    private readonly CancellationTokenSource stop = new();
    private readonly Task accepting;
    private volatile bool cut;

    public TcpProxy(string targetHost, int targetPort)
    {
        (this.targetHost, this.targetPort) = (targetHost, targetPort);
        listener.Start();
        accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    public bool IsCut => cut;

    public void Cut()
    {
        cut = true;
        foreach (var pair in pairs.Keys) pair.Close();
    }

    public void Restore() => cut = false;

    private async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptSocketAsync(stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            if (cut || pairs.Count >= MaxConnections)
            {
                client.Close();
                continue;
            }

            _ = ForwardAsync(client);
        }
    }

    private async Task ForwardAsync(Socket client)
    {
        var server = new Socket(SocketType.Stream, ProtocolType.Tcp);
        var pair = new Pair(client, server);
        pairs[pair] = 0;
        try
        {
            await server.ConnectAsync(targetHost, targetPort, stop.Token);
            if (cut) return;
            await Task.WhenAny(PumpAsync(client, server), PumpAsync(server, client));
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            pair.Close();
            pairs.TryRemove(pair, out _);
        }
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, stop.Token);
                if (read == 0) return;
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, stop.Token);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        listener.Stop();
        foreach (var pair in pairs.Keys) pair.Close();
        await accepting;
        stop.Dispose();
    }

    private sealed class Pair(Socket client, Socket server)
    {
        public void Close()
        {
            // An abortive close (RST), as when a server's process dies: the other side's reads fail at once.
            foreach (var socket in new[] { client, server })
            {
                try
                {
                    socket.LingerState = new LingerOption(true, 0);
                    socket.Close();
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                }
            }
        }
    }
}

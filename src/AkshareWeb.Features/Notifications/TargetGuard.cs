using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace AkshareWeb.Features.Notifications;

/// <summary>A channel's target that the service refuses to reach, with the reason in words.</summary>
public sealed class TargetRefusedException(string message) : Exception(message);

/// <summary>Host names to addresses; a class of its own so a test can stand in for DNS (whose answers may change).</summary>
public class HostResolver
{
    public virtual Task<IPAddress[]> ResolveAsync(string host, CancellationToken ct) => Dns.GetHostAddressesAsync(host, ct);
}

/// <summary>
/// Keeps channels from reaching what only the service can reach (SSRF): a target whose name resolves to a loopback,
/// private, link-local, unique-local, carrier-grade NAT or otherwise non-public address, or to the AKTools or database
/// hosts, is refused unless <see cref="NotificationOptions.AllowPrivateTargets"/>. The check runs when a channel is
/// saved and again at every connection, and <see cref="ConnectAsync"/> connects to an address it has just checked, so a
/// name that resolves elsewhere by the time of delivery (DNS rebinding) is caught then.
/// </summary>
public sealed class TargetGuard(IOptions<NotificationOptions> options, HostResolver resolver)
{
    /// <summary>The addresses <paramref name="host"/> may be reached at; <see cref="TargetRefusedException"/> otherwise.</summary>
    public async Task<IReadOnlyList<IPAddress>> AddressesAsync(string host, CancellationToken ct)
    {
        var bare = host.Trim('[', ']');
        IPAddress[] addresses;
        if (IPAddress.TryParse(bare, out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                addresses = await resolver.ResolveAsync(bare, ct);
            }
            catch (SocketException e)
            {
                throw new TargetRefusedException($"{host} does not resolve: {e.SocketErrorCode}");
            }
        }

        if (addresses.Length == 0) throw new TargetRefusedException($"{host} does not resolve to any address");
        if (options.Value.AllowPrivateTargets) return addresses;
        foreach (var address in addresses)
        {
            if (Internal(address) is { } kind)
            {
                throw new TargetRefusedException(
                    $"{host} resolves to {address} ({kind}); internal addresses are refused unless Notifications:AllowPrivateTargets is true");
            }
        }

        foreach (var service in options.Value.InternalHosts)
        {
            var theirs = await ResolveQuietlyAsync(service, ct);
            if (addresses.FirstOrDefault(a => theirs.Any(t => Same(a, t))) is { } clash)
            {
                throw new TargetRefusedException($"{host} resolves to {clash}, the address of {service}, which the service itself uses");
            }
        }

        return addresses;
    }

    /// <summary>A connected socket to one of the checked addresses of <paramref name="host"/>.</summary>
    public async Task<Socket> ConnectAsync(string host, int port, CancellationToken ct)
    {
        Exception? last = null;
        foreach (var address in await AddressesAsync(host, ct))
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), ct);
                return socket;
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }

    private async Task<IPAddress[]> ResolveQuietlyAsync(string host, CancellationToken ct)
    {
        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal)) return [literal];
        try
        {
            return await resolver.ResolveAsync(host, ct);
        }
        catch (SocketException)
        {
            return [];
        }
    }

    private static bool Same(IPAddress a, IPAddress b) => Plain(a).Equals(Plain(b));

    private static IPAddress Plain(IPAddress a) => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;

    /// <summary>
    /// Why <paramref name="address"/> is not a public unicast address (IANA's special-purpose registries for IPv4 and
    /// IPv6), or null when it is. Addresses that carry an IPv4 address (IPv4-mapped and -compatible, NAT64's
    /// 64:ff9b::/96, 6to4) are judged by it.
    /// </summary>
    public static string? Internal(IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetwork) return InternalV4(address.GetAddressBytes());
        var b = address.GetAddressBytes();
        if (address.IsIPv4MappedToIPv6) return InternalV4(b[12..]);
        if (address.Equals(IPAddress.IPv6None)) return "unspecified";
        if (address.Equals(IPAddress.IPv6Loopback)) return "loopback";
        if (b[..12].All(x => x == 0)) return "IPv4-compatible " + (InternalV4(b[12..]) ?? "(deprecated)");
        if (StartsWith(b, [0x00, 0x64, 0xff, 0x9b], 32) && b[4..12].All(x => x == 0)) return InternalV4(b[12..]);
        if (StartsWith(b, [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01], 48)) return "local-use NAT64";
        if (b[0] == 0x20 && b[1] == 0x02) return InternalV4(b[2..6]);
        if ((b[0] & 0xfe) == 0xfc) return "unique-local";
        if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local";
        if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "site-local";
        if (b[0] == 0xff) return "multicast";
        if (StartsWith(b, [0x20, 0x01, 0x0d, 0xb8], 32) || StartsWith(b, [0x3f, 0xff], 20)) return "documentation";
        // 2001::/23: IETF protocol assignments, Teredo (2001::/32) among them, which tunnels to IPv4 hosts.
        if (StartsWith(b, [0x20, 0x01, 0x00], 23)) return "IETF protocol assignment (Teredo and others)";
        // Everything outside 2000::/3 is not global unicast (discard 100::/64 and reserved space among it).
        return (b[0] & 0xe0) == 0x20 ? null : "reserved";
    }

    private static string? InternalV4(byte[] b) => b switch
    {
        [0, ..] => "unspecified (0.0.0.0/8)",
        [10, ..] => "private",
        [100, var x, ..] when (x & 0xc0) == 64 => "carrier-grade NAT",
        [127, ..] => "loopback",
        [169, 254, ..] => "link-local",
        [172, var x, ..] when (x & 0xf0) == 16 => "private",
        [192, 0, 0, _] => "IETF protocol assignment",
        [192, 0, 2, _] or [198, 51, 100, _] or [203, 0, 113, _] => "documentation",
        [192, 88, 99, _] => "6to4 relay",
        [192, 168, ..] => "private",
        [198, var x, ..] when (x & 0xfe) == 18 => "benchmarking",
        [var x, ..] when x >= 224 && x < 240 => "multicast",
        [var x, ..] when x >= 240 => "reserved",
        _ => null,
    };

    private static bool StartsWith(byte[] address, byte[] prefix, int bits)
    {
        for (var i = 0; i < bits; i++)
        {
            var mask = 0x80 >> (i % 8);
            var want = i / 8 < prefix.Length ? prefix[i / 8] & mask : 0;
            if ((address[i / 8] & mask) != want) return false;
        }

        return true;
    }
}

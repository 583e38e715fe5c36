using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;

namespace AkshareWeb.Features.Common;

/// <summary>The key a client address is counted under by the rate limits and the login throttle.</summary>
public static class ClientAddress
{
    /// <summary>The headers a reverse proxy names its client in. From a proxy this service was not told to trust
    /// (<c>ForwardedHeaders:KnownProxies</c>) they are not believed, but they do tell that a proxy is there.</summary>
    public static readonly string[] ForwardingHeaders = ["X-Forwarded-For", "Forwarded", "X-Real-IP", "X-Original-For"];

    /// <summary>
    /// IPv4 per address; IPv6 per /64, because one subscriber is usually handed a whole /64 and could otherwise
    /// take a fresh address (and fresh counters) for every request.
    /// </summary>
    public static string Key(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }

    /// <summary>
    /// The key of a request's client. A request from loopback that names a client in a forwarding header comes
    /// through a proxy on this host that the service was not told about: counting it as loopback would put every
    /// client of that proxy under one key, so that one stranger's failed logins lock everybody out. It is counted
    /// by the address the proxy added last (the rightmost of <c>X-Forwarded-For</c>, then <c>Forwarded</c>, then
    /// <c>X-Real-IP</c>), which is the one a client behind an ordinary proxy cannot choose.
    /// </summary>
    public static string Key(HttpContext context)
    {
        var remote = context.Connection.RemoteIpAddress;
        if (remote is not null && IPAddress.IsLoopback(remote) && NamedClient(context.Request.Headers) is { } named)
        {
            return IPAddress.TryParse(named, out var address) ? Key(address) : "forwarded:" + named[..Math.Min(named.Length, 64)];
        }

        return Key(remote);
    }

    /// <summary>
    /// The request comes from a process on this host itself, not through a proxy: from loopback and without any
    /// forwarding header. Only such a request may be trusted for being local (/metrics without a token).
    /// </summary>
    public static bool IsLocal(HttpContext context) =>
        context.Connection.RemoteIpAddress is { } remote && IPAddress.IsLoopback(remote) && !HasForwardingHeaders(context.Request.Headers);

    /// <summary>From loopback and naming a client: a proxy on this host that the service does not trust (a trusted
    /// one's <c>X-Forwarded-For</c> has already become the request's address).</summary>
    public static bool IsUntrustedLocalProxy(HttpContext context) =>
        context.Connection.RemoteIpAddress is { } remote && IPAddress.IsLoopback(remote) && NamedClient(context.Request.Headers) is not null;

    private static bool HasForwardingHeaders(IHeaderDictionary headers) => ForwardingHeaders.Any(headers.ContainsKey);

    private static string? NamedClient(IHeaderDictionary headers)
    {
        if (Last(headers["X-Forwarded-For"].ToString()) is { } forwardedFor) return Unbracket(forwardedFor);
        // Forwarded: for=192.0.2.60;proto=https, for="[2001:db8::1]:4711"
        var forwarded = Last(headers["Forwarded"].ToString())?.Split(';')
            .Select(pair => pair.Trim())
            .FirstOrDefault(pair => pair.StartsWith("for=", StringComparison.OrdinalIgnoreCase));
        if (forwarded is not null) return Unbracket(forwarded[4..].Trim('"'));
        return Last(headers["X-Real-IP"].ToString()) is { } real ? Unbracket(real) : null;
    }

    private static string? Last(string list) =>
        list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).LastOrDefault();

    /// <summary>"[2001:db8::1]:4711" and "192.0.2.1:80" name their address without the port.</summary>
    private static string Unbracket(string value)
    {
        if (value.StartsWith('[') && value.IndexOf(']') is > 0 and var end) return value[1..end];
        var colon = value.IndexOf(':');
        return colon > 0 && colon == value.LastIndexOf(':') ? value[..colon] : value;
    }
}

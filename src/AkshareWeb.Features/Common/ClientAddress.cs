using System.Net;
using System.Net.Sockets;

namespace AkshareWeb.Features.Common;

/// <summary>The key a client address is counted under by the rate limits and the login throttle.</summary>
public static class ClientAddress
{
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
}

using System.Security.Cryptography;
using System.Text;

namespace AkshareWeb.Hangfire.MySql;

/// <summary>
/// Maps a Hangfire lock resource to a GET_LOCK name. Those names are server-wide (so the database and
/// prefix must be part of them), compared case-insensitively and limited to 64 characters, while Hangfire's
/// resources are case-sensitive and can be long. A digest of the full scoped name is therefore always part
/// of the lock name; the readable head only helps whoever inspects metadata_locks.
/// </summary>
internal sealed class LockNames(string database, string prefix)
{
    private const int HeadLength = 23;

    public string For(string resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var scoped = $"{database}/{prefix}/{resource}";
        var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(scoped)))[..40];
        var head = resource.Length <= HeadLength ? resource : resource[..HeadLength];
        return $"{head}~{digest}";
    }
}

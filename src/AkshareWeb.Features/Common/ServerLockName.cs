using System.Security.Cryptography;
using System.Text;

namespace AkshareWeb.Features.Common;

/// <summary>
/// Names for MySQL's named locks (GET_LOCK). Those names are server-wide, so each carries a digest of the database
/// name: two AkshareWeb databases on one server (two installations, or the tests' databases side by side) must
/// not wait on each other's migrations, imports or slots. Names stay under the server's 64-character limit.
/// </summary>
public static class ServerLockName
{
    public static string For(string database, string what) =>
        $"akshareweb:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(database)))[..16]}:{what}";
}

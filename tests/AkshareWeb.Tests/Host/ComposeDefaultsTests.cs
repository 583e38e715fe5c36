using System.Text.RegularExpressions;
using AkshareWeb.Tests.Architecture;

namespace AkshareWeb.Tests.Host;

/// <summary>
/// docker-compose.yml as an operator starts it with no variables set: nothing is published beyond this host, and the
/// monitoring profile's Grafana has no password anyone could guess. Read as text: the file is the product here.
/// </summary>
public sealed partial class ComposeDefaultsTests
{
    private static readonly string[] Lines = File.ReadAllLines(Path.Combine(SourceCode.RepositoryRoot(), "docker-compose.yml"));

    [Fact]
    public void Every_published_port_binds_to_loopback_unless_told_otherwise()
    {
        var published = new List<string>();
        for (var i = 0; i < Lines.Length; i++)
        {
            if (Lines[i].Trim() != "ports:") continue;
            for (var j = i + 1; j < Lines.Length && Lines[j].TrimStart().StartsWith("- ", StringComparison.Ordinal); j++) published.Add(Lines[j].Trim()[2..].Trim('"'));
        }

        // The API's (and its HA profile's instances) and the monitoring profile's Prometheus and Grafana.
        Assert.Contains(published, p => p.EndsWith(":9090:9090", StringComparison.Ordinal));
        Assert.Contains(published, p => p.EndsWith(":3000:3000", StringComparison.Ordinal));
        foreach (var port in published) Assert.Matches(LoopbackBind(), port);
    }

    [Fact]
    public void Grafana_has_no_default_admin_password_and_refuses_to_start_with_none_or_admin()
    {
        var text = string.Join('\n', Lines);
        Assert.Contains("GF_SECURITY_ADMIN_PASSWORD: ${GRAFANA_ADMIN_PASSWORD:-}\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("GRAFANA_ADMIN_PASSWORD:-admin", text, StringComparison.Ordinal);
        Assert.Contains("[ -z \"$$GF_SECURITY_ADMIN_PASSWORD\" ] || [ \"$$GF_SECURITY_ADMIN_PASSWORD\" = admin ]", text, StringComparison.Ordinal);
    }

    /// <summary>"${SOME_BIND:-127.0.0.1}:port:container" (the port perhaps a variable too): an address from a variable whose default is loopback.</summary>
    [GeneratedRegex(@"^\$\{[A-Z_]+_BIND:-127\.0\.0\.1\}:(\d+|\$\{[A-Z0-9_]+:-\d+\}):\d+$")]
    private static partial Regex LoopbackBind();
}

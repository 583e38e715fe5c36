using Dapper;
using Microsoft.Extensions.Options;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Interfaces;

namespace AkshareWeb.Features.Collection;

/// <summary>
/// Calls per second allowed toward each upstream site family; 0 or less means no limit. The section keeps its
/// documented name, SourceRates, which deployments set.
/// </summary>
public sealed class SiteRateOptions
{
    public const string Section = "SourceRates";

    public Dictionary<string, double> Families { get; set; } = new(StringComparer.Ordinal)
    {
        ["eastmoney"] = 2,
        ["sina"] = 2,
        ["ths"] = 1,
        ["xueqiu"] = 1,
        ["cninfo"] = 2,
        ["sse"] = 2,
        ["szse"] = 2,
    };

    /// <summary>Any other family.</summary>
    public double Default { get; set; } = 5;

    /// <summary>Each call's interval is stretched by up to this share at random, so calls do not fall into a visible beat.</summary>
    public double Jitter { get; set; } = 0.2;
}

/// <summary>
/// Politeness toward the upstream sites AKShare scrapes: every call of a parted run first reserves its moment in
/// its site family's row of source_rate_slots. The reservation is atomic under the row lock and uses the
/// database's clock, so all runs on all instances share one schedule: consecutive calls of a family start at
/// least 1/rate apart (stretched by the jitter, never shortened), whoever makes them.
/// </summary>
public sealed class SiteRates(Database database, InterfaceCatalog catalog, IOptions<SiteRateOptions> options, SitePauses pauses, TimeProvider time)
{
    private static readonly (string Suffix, string Family)[] Suffixes =
    [
        ("_em", "eastmoney"), ("_sina", "sina"), ("_ths", "ths"), ("_xq", "xueqiu"), ("_cninfo", "cninfo"), ("_sse", "sse"), ("_szse", "szse"),
        ("_163", "netease"), ("_tx", "tencent"), ("_jsl", "jisilu"), ("_csindex", "csindex"), ("_qq", "tencent"), ("_baidu", "baidu"),
    ];

    /// <summary>
    /// The site family of an interface: its name's source suffix (stock_zh_a_spot_em: eastmoney), else the module's
    /// (akshare.stock_feature.stock_hist_em: eastmoney), else "other".
    /// </summary>
    public static string FamilyOf(string interfaceName, string? module)
    {
        foreach (var name in new[] { interfaceName, module?.Split('.').LastOrDefault() ?? "" })
        {
            foreach (var (suffix, family) in Suffixes)
            {
                if (name.EndsWith(suffix, StringComparison.Ordinal) || name.Contains(suffix + "_", StringComparison.Ordinal)) return family;
            }
        }

        return "other";
    }

    public double RateOf(string family) => options.Value.Families.TryGetValue(family, out var rate) ? rate : options.Value.Default;

    /// <summary>The configured rate times the share a family climbing back after a pause runs at (<see cref="SitePauses"/>).</summary>
    public double EffectiveRateOf(string family) => RateOf(family) * pauses.ShareOf(family);

    /// <summary>The family of a function, from the module the catalogue knows it by (<see cref="FamilyOf"/>).</summary>
    public async Task<string> FamilyAsync(string interfaceName, CancellationToken ct) =>
        FamilyOf(interfaceName, await catalog.ModuleAsync(interfaceName, ct));

    /// <summary>
    /// Waits for this call's turn in its family; returns at once when the family has no limit. A call may start
    /// when the family's next_at has passed, and starting moves next_at one interval (stretched by the jitter) past
    /// the moment it started, in one conditional UPDATE: consecutive starts are at least an interval apart by the
    /// database's clock, however late a waiting thread wakes up. A caller that lost the race sleeps until next_at.
    /// </summary>
    public async Task WaitTurnAsync(string family, CancellationToken ct)
    {
        var rate = EffectiveRateOf(family);
        if (rate <= 0) return;
        await using var connection = await database.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT IGNORE INTO source_rate_slots (family, next_at) VALUES (@family, UTC_TIMESTAMP(6))", new { family }, cancellationToken: ct));
        while (true)
        {
            var micros = (long)(1_000_000 / rate * (1 + (Random.Shared.NextDouble() * Math.Max(0, options.Value.Jitter))));
            var wait = await connection.QuerySingleAsync<long>(new CommandDefinition("""
                UPDATE source_rate_slots SET next_at = UTC_TIMESTAMP(6) + INTERVAL @micros MICROSECOND
                WHERE family = @family AND next_at <= UTC_TIMESTAMP(6);
                SELECT IF(ROW_COUNT() = 1, 0, GREATEST(1, TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(6), next_at))) FROM source_rate_slots WHERE family = @family;
                """, new { micros, family }, cancellationToken: ct));
            if (wait == 0) return;
            await Task.Delay(TimeSpan.FromMicroseconds(wait), time, ct);
        }
    }
}

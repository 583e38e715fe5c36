using AkshareWeb.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace AkshareWeb.Client.Tests;

/// <summary>
/// The service on a real loopback port (Kestrel, not the in-memory test server, so a Node process can call it),
/// on a database of its own, with the fake AKTools serving <see cref="Interface"/>: daily bars of any symbol.
/// </summary>
public sealed class ServiceOnLoopback : CollectingApp
{
    public const string Interface = "client_flow_bars";
    public const int BarsPerDownload = 5;

    public ServiceOnLoopback() => UseKestrel(0);

    public Uri BaseAddress { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        StartServer();
        var address = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("localhost", "127.0.0.1", StringComparison.Ordinal));
        var first = new DateOnly(2024, 1, 2);
        AkTools.Rows(Interface, q => Enumerable.Range(0, BarsPerDownload).Select(i => TestScripts.Bar(q["symbol"].ToString(), first.AddDays(i), 10.5 + i)));
        await AddBarsScriptAsync(Interface, "客户端日线");
    }

    /// <summary>A client of the generated SDK on its own HttpClient, as an SDK user would make it.</summary>
    public (AkshareWebClient Client, HttpClient Http) NewClient()
    {
        var http = new HttpClient { BaseAddress = BaseAddress };
        return (new AkshareWebClient(http), http);
    }
}

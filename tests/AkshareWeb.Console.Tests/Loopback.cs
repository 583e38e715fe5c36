using AkshareWeb.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace AkshareWeb.Console.Tests;

public static class Loopback
{
    /// <summary>Starts the app's Kestrel server (UseKestrel was called) and answers the address Chromium opens.</summary>
    public static Uri Start(AkshareWebApp app)
    {
        app.StartServer();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("localhost", "127.0.0.1", StringComparison.Ordinal));
    }
}

/// <summary>
/// The service on a loopback port with <c>Auth:Registration</c> set to one mode and nothing collected: what the sign-in
/// and registration pages show and allow under that mode.
/// </summary>
public abstract class RegistrationConsoleApp : AkshareWebApp
{
    protected RegistrationConsoleApp(string mode)
    {
        UseKestrel(0);
        Set("Auth:Registration", mode);
    }

    public Uri BaseAddress { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        BaseAddress = Loopback.Start(this);
    }
}

public sealed class ApprovalConsoleApp() : RegistrationConsoleApp("approval");

public sealed class ClosedConsoleApp() : RegistrationConsoleApp("closed");

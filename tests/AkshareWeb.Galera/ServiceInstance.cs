using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace AkshareWeb.Galera;

/// <summary>One instance of the service: the built AkshareWeb.Api in a process of its own, on a loopback port, its
/// output in a log file.</summary>
public sealed class ServiceInstance : IAsyncDisposable
{
    private readonly Process process;
    private readonly StreamWriter log;

    private ServiceInstance(string name, Process process, StreamWriter log, Uri address)
    {
        (Name, this.process, this.log, Address) = (name, process, log, address);
    }

    public string Name { get; }

    public Uri Address { get; }

    public static async Task<ServiceInstance> StartAsync(string name, string root, string logDirectory, IReadOnlyDictionary<string, string> settings)
    {
        var port = FreePort();
        var address = new Uri($"http://127.0.0.1:{port}");
        var binaries = Path.Combine(root, "src", "AkshareWeb.Api", "bin", "Release", "net10.0");
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = binaries,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(binaries, "AkshareWeb.Api.dll"));
        start.Environment["ASPNETCORE_URLS"] = address.ToString().TrimEnd('/');
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in settings) start.Environment[key] = value;
        var log = new StreamWriter(Path.Combine(logDirectory, $"instance-{name}.log")) { AutoFlush = true };
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var instance = new ServiceInstance(name, process, log, address);
        await instance.WaitLiveAsync(TimeSpan.FromMinutes(3));
        return instance;
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null) return;
        lock (log) log.WriteLine(line);
    }

    private async Task WaitLiveAsync(TimeSpan patience)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < patience)
        {
            if (process.HasExited) throw new InvalidOperationException($"instance {Name} exited with {process.ExitCode}; see its log");
            try
            {
                if ((await http.GetAsync(new Uri(Address, "/health/live"))).StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(500);
        }

        throw new TimeoutException($"instance {Name} did not answer within {patience.TotalSeconds:0} s");
    }

    public bool Exited => process.HasExited;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            // SIGTERM: the service stops cleanly (its Hangfire servers, its instance row).
            using (var stop = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await stop.WaitForExitAsync();
            }

            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        process.Dispose();
        await log.DisposeAsync();
    }
}

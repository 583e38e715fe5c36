using System.Collections.Concurrent;
using System.Net.Sockets;
using AkshareWeb.Features.Common;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AkshareWeb.Tests.Operations;

/// <summary>
/// The one rule of every background loop of the service (<see cref="BackgroundLoop"/>), in a real .NET host: whatever
/// a round throws, the loop goes on and the host keeps running; each kind of failure is logged once until a round
/// works again; only the host stopping ends the loop. And no background service of the service is built another way.
/// </summary>
public sealed class BackgroundLoopTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Whatever_a_round_throws_the_loop_goes_on_and_the_host_keeps_running_until_it_is_stopped()
    {
        var failures = new Queue<Exception>(
        [
            new SocketException((int)SocketError.ConnectionReset),
            new SocketException((int)SocketError.ConnectionReset),
            new NullReferenceException("a bug"),
            new NullReferenceException("the same bug"),
            new TaskCanceledException("an HTTP call timed out"),
        ]);
        var lines = new ConcurrentQueue<(LogLevel Level, string Text)>();
        using var host = HostWith<ScriptedLoop>(lines);
        var loop = host.Services.GetRequiredService<ScriptedLoop>();
        loop.Script(failures, 8);
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var watch = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => stopping.TrySetResult());

        await host.StartAsync();
        await loop.RoundsDone.Task.WaitAsync(Patience);

        Assert.False(stopping.Task.IsCompleted, "the host began to stop when a round of a background loop threw");
        Assert.Equal(8, loop.Rounds);
        // The reset socket is an outage: a warning, once. The bug is an error, once; the timed-out call after it adds
        // nothing until a round has worked again, which is said too.
        var said = lines.Select(l => $"{l.Level}: {l.Text}").ToList();
        Assert.Equal(
        [
            "Warning: Doing the test's work failed; it is tried again at the next round",
            "Error: Doing the test's work failed unexpectedly; it is tried again at the next round",
            "Information: Doing the test's work works again",
        ], said.Where(l => l.Contains("test's work", StringComparison.Ordinal)));

        await host.StopAsync();
        Assert.True(loop.Ended, "the loop's end was not run when the host stopped");
    }

    [Fact]
    public async Task A_round_interrupted_by_the_stop_ends_the_loop_quietly()
    {
        var lines = new ConcurrentQueue<(LogLevel Level, string Text)>();
        using var host = HostWith<BlockingLoop>(lines);
        var loop = host.Services.GetRequiredService<BlockingLoop>();

        await host.StartAsync();
        await loop.InRound.Task.WaitAsync(Patience);
        await host.StopAsync();

        Assert.DoesNotContain(lines, l => l.Level >= LogLevel.Warning);
    }

    [Fact]
    public void Every_background_service_of_the_service_is_a_background_loop()
    {
        var assemblies = new[] { typeof(BackgroundLoop).Assembly, typeof(AkshareWeb.Api.Setup.Metrics).Assembly };
        var others = assemblies.SelectMany(a => a.GetTypes())
            .Where(t => !t.IsAbstract && typeof(BackgroundService).IsAssignableFrom(t) && !typeof(BackgroundLoop).IsAssignableFrom(t))
            .Select(t => t.FullName)
            .ToList();
        Assert.True(others.Count == 0, "background services that do not keep BackgroundLoop's rule: " + string.Join(", ", others));
        var loops = assemblies.SelectMany(a => a.GetTypes()).Count(t => !t.IsAbstract && typeof(BackgroundLoop).IsAssignableFrom(t));
        Assert.True(loops >= 6, $"only {loops} background loops found");
    }

    /// <summary>A .NET host running one loop, its log lines (every level) collected.</summary>
    private static IHost HostWith<TLoop>(ConcurrentQueue<(LogLevel, string)> lines) where TLoop : BackgroundLoop
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Trace).AddProvider(new ListLogger(lines));
        builder.Services.AddSingleton<TLoop>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<TLoop>());
        return builder.Build();
    }

    /// <summary>Throws the failures given, one per round, then works; stops counting after the rounds asked for.</summary>
    private sealed class ScriptedLoop(ILogger<ScriptedLoop> logger) : BackgroundLoop(TimeProvider.System, logger)
    {
        private Queue<Exception> failures = new();
        private int rounds;

        public void Script(Queue<Exception> failing, int roundsToCount)
        {
            failures = failing;
            rounds = roundsToCount;
        }

        public TaskCompletionSource RoundsDone { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Rounds { get; private set; }

        public bool Ended { get; private set; }

        protected override string Work => "Doing the test's work";

        protected override TimeSpan Interval => TimeSpan.FromMilliseconds(10);

        protected override Task RoundAsync(CancellationToken ct)
        {
            if (Rounds == rounds) return Task.CompletedTask;
            Rounds++;
            if (Rounds == rounds) RoundsDone.TrySetResult();
            return failures.TryDequeue(out var failure) ? throw failure : Task.CompletedTask;
        }

        protected override Task EndedAsync()
        {
            Ended = true;
            return Task.CompletedTask;
        }
    }

    /// <summary>A round that waits until the host stops, then fails as a command whose connection was closed under it does.</summary>
    private sealed class BlockingLoop(ILogger<BlockingLoop> logger) : BackgroundLoop(TimeProvider.System, logger)
    {
        public TaskCompletionSource InRound { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override string Work => "Waiting";

        protected override TimeSpan Interval => TimeSpan.FromSeconds(1);

        protected override async Task RoundAsync(CancellationToken ct)
        {
            InRound.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
                throw new InvalidOperationException("the connection was closed under the command");
            }
        }
    }

    private sealed class ListLogger(ConcurrentQueue<(LogLevel, string)> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Collecting(lines);

        public void Dispose()
        {
        }

        private sealed class Collecting(ConcurrentQueue<(LogLevel, string)> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue((logLevel, formatter(state, exception)));
        }
    }
}

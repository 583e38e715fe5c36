using System.Collections.Concurrent;
using AkshareWeb.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace AkshareWeb.Tests.Operations;

/// <summary>The collecting app with the service's own information logs kept, each with the scopes it was written in.</summary>
public sealed class RunLogApp : CollectingApp
{
    public ConcurrentQueue<(string Category, string Message, IReadOnlyList<object?> Scopes)> Lines { get; } = new();

    // The executions' pruner goes every second, so BackgroundLoopsTests sees it meet a failing database like the other
    // loops; with the default 90 days' retention it deletes nothing the tests made.
    public RunLogApp() => Set("Executions:PruneIntervalMinutes", "0.02");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureLogging(logging => logging
            .AddProvider(new ScopeKeeper(Lines))
            .AddFilter<ScopeKeeper>("AkshareWeb", LogLevel.Information));
    }

    private sealed class ScopeKeeper(ConcurrentQueue<(string, string, IReadOnlyList<object?>)> lines) : ILoggerProvider, ISupportExternalScope
    {
        private IExternalScopeProvider scopes = new LoggerExternalScopeProvider();

        public void Keep(string category, string message, IReadOnlyList<object?> held) => lines.Enqueue((category, message, held));

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => scopes = scopeProvider;

        public void Dispose()
        {
        }

        private sealed class Logger(ScopeKeeper owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner.scopes.Push(state);

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var held = new List<object?>();
                owner.scopes.ForEachScope((scope, list) => list.Add(scope), held);
                owner.Keep(category, formatter(state, exception), held);
            }
        }
    }
}

public sealed class RunLogTests(RunLogApp app) : IClassFixture<RunLogApp>
{
    [Fact]
    public async Task Every_line_a_run_logs_names_its_execution()
    {
        app.AkTools.Rows("stock_zh_a_spot_em", new Dictionary<string, object?> { ["代码"] = "000001", ["最新价"] = 10.5 });
        var ended = await app.DownloadAsync("stock_zh_a_spot_em");
        var executionId = ended["execution_id"]!.GetValue<string>();

        // The job and the runners (Executions) and the engine they call (Collection).
        var mentioning = app.Lines.Where(l => l.Message.Contains(executionId, StringComparison.Ordinal) && l.Category.StartsWith("AkshareWeb.Features.Executions", StringComparison.Ordinal)
            || l.Message.Contains(executionId, StringComparison.Ordinal) && l.Category.StartsWith("AkshareWeb.Features.Collection", StringComparison.Ordinal)).ToList();
        Assert.Contains(mentioning, l => l.Message.StartsWith("Running execution", StringComparison.Ordinal));
        Assert.Contains(mentioning, l => l.Message.Contains("ended completed", StringComparison.Ordinal));
        Assert.All(mentioning, line => Assert.Contains(line.Scopes, scope =>
            scope is IEnumerable<KeyValuePair<string, object>> pairs && pairs.Any(p => p.Key == "ExecutionId" && Equals(p.Value, executionId))));
    }
}

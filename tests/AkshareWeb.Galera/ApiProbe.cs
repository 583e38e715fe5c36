using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace AkshareWeb.Galera;

/// <summary>One request of the probe: when it was sent and answered (seconds since the drill started), by which
/// instance, with what status and envelope code (null when the body was not the envelope).</summary>
public sealed record ProbeAnswer(string Instance, double SentAt, double AnsweredAt, int Status, int? Code);

/// <summary>
/// Asks every instance for a page of executions (signed in: a session check and a query, both on the database) four
/// times a second, without waiting for the previous answer, so a request stuck on a dying node does not hide the
/// ones after it. What a user would have seen through the failover is read from these answers.
/// </summary>
public sealed class ApiProbe(IReadOnlyList<ServiceInstance> instances, string token, Stopwatch clock) : IAsyncDisposable
{
    private readonly ConcurrentBag<ProbeAnswer> answers = [];
    private readonly CancellationTokenSource stop = new();
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(60) };
    private Task? loop;

    public IReadOnlyCollection<ProbeAnswer> Answers => answers;

    public void Start()
    {
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        loop = Task.Run(async () =>
        {
            var pending = new List<Task>();
            while (!stop.IsCancellationRequested)
            {
                pending.RemoveAll(t => t.IsCompleted);
                pending.AddRange(instances.Select(AskAsync));
                try
                {
                    await Task.Delay(250, stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }

            await Task.WhenAll(pending);
        });
    }

    private async Task AskAsync(ServiceInstance instance)
    {
        var sent = clock.Elapsed.TotalSeconds;
        int status;
        int? code = null;
        try
        {
            using var response = await http.GetAsync(new Uri(instance.Address, "/api/executions/?page_size=1"));
            status = (int)response.StatusCode;
            try
            {
                code = JsonNode.Parse(await response.Content.ReadAsStringAsync())?["code"]?.GetValue<int>();
            }
            catch (System.Text.Json.JsonException)
            {
            }
        }
        catch (HttpRequestException)
        {
            status = 0;
        }
        catch (TaskCanceledException)
        {
            status = -1;
        }

        answers.Add(new ProbeAnswer(instance.Name, sent, clock.Elapsed.TotalSeconds, status, code));
    }

    /// <summary>
    /// What the probe saw after a node was killed at <paramref name="killedAt"/>: when the service answered again (the
    /// end of the last answer, sent within the next minute, that failed or took over 2 s), and every answer that was
    /// not a 200.
    /// </summary>
    public (double RecoveredAfter, IReadOnlyList<ProbeAnswer> Failures, int Asked) After(double killedAt)
    {
        var window = answers.Where(a => a.SentAt >= killedAt && a.SentAt < killedAt + 60).ToList();
        var troubled = window.Where(a => a.Status != 200 || a.AnsweredAt - a.SentAt > 2).ToList();
        var recovered = troubled.Count == 0 ? 0 : troubled.Max(a => a.AnsweredAt) - killedAt;
        return (recovered, window.Where(a => a.Status != 200).OrderBy(a => a.SentAt).ToList(), window.Count);
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        if (loop is not null) await loop;
        http.Dispose();
        stop.Dispose();
    }
}

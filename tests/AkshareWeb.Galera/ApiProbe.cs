using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace AkshareWeb.Galera;

/// <summary>One request of the probe: what it was, when it was sent and answered (seconds since the drill started), by
/// which instance, with what status and envelope code (null when the body was not the envelope).</summary>
public sealed record ProbeAnswer(string Instance, string Kind, double SentAt, double AnsweredAt, int Status, int? Code);

/// <summary>What the probe saw after a moment (see <see cref="ApiProbe.Between"/>); times in seconds after it.</summary>
public sealed record ProbeWindow(double AnsweringAfter, double PromptAfter, IReadOnlyList<ProbeAnswer> Failures, int Asked, double SlowestWrite, double Slowest);

/// <summary>
/// Asks every instance for a page of executions (signed in: a session check and a query, both reads) four times a
/// second, and signs in once a second (a new session: writes, which wait while the cluster changes its view), without
/// waiting for the previous answer, so a request stuck on a dying node does not hide the ones after it. What a user
/// would have seen through the failover is read from these answers.
/// </summary>
public sealed class ApiProbe(IReadOnlyList<ServiceInstance> instances, string token, string password, Stopwatch clock) : IAsyncDisposable
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
            for (var tick = 0; !stop.IsCancellationRequested; tick++)
            {
                pending.RemoveAll(t => t.IsCompleted);
                pending.AddRange(instances.Select(i => AskAsync(i, "read", () => http.GetAsync(new Uri(i.Address, "/api/executions/?page_size=1")))));
                if (tick % 4 == 0)
                {
                    pending.AddRange(instances.Select(i => AskAsync(i, "write", () => http.PostAsJsonAsync(new Uri(i.Address, "/api/auth/login"), new { username = "admin", password }))));
                }

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

    private async Task AskAsync(ServiceInstance instance, string kind, Func<Task<HttpResponseMessage>> send)
    {
        var sent = clock.Elapsed.TotalSeconds;
        int status;
        int? code = null;
        try
        {
            using var response = await send();
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

        answers.Add(new ProbeAnswer(instance.Name, kind, sent, clock.Elapsed.TotalSeconds, status, code));
    }

    /// <summary>
    /// What the probe saw between <paramref name="killedAt"/> (a node killed, or started again) and <paramref name="until"/>:
    /// when the service answered again (the end of the last answer sent in between that failed or took longer than
    /// <paramref name="slow"/>: 5 s, a wait no user calls an answer, or what the load made normal before), when every
    /// answer was prompt again (none after that took over 2 s), every answer that was not a 200, the slowest sign-in
    /// and the slowest answer.
    /// </summary>
    public ProbeWindow Between(double killedAt, double until, double slow = 5)
    {
        var window = answers.Where(a => a.SentAt >= killedAt && a.SentAt < until).ToList();
        double EndOfLast(Func<ProbeAnswer, bool> troubled) => window.Where(troubled).Select(a => a.AnsweredAt - killedAt).DefaultIfEmpty(0).Max();
        var writes = window.Where(a => a.Kind == "write").Select(a => a.AnsweredAt - a.SentAt).DefaultIfEmpty(0).Max();
        return new ProbeWindow(
            EndOfLast(a => a.Status != 200 || a.AnsweredAt - a.SentAt > slow),
            EndOfLast(a => a.Status != 200 || a.AnsweredAt - a.SentAt > 2),
            window.Where(a => a.Status != 200).OrderBy(a => a.SentAt).ToList(), window.Count, writes,
            window.Select(a => a.AnsweredAt - a.SentAt).DefaultIfEmpty(0).Max());
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        if (loop is not null) await loop;
        http.Dispose();
        stop.Dispose();
    }
}

using System.Diagnostics;
using System.Security.Claims;
using System.Text.Json;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Executions;
using AkshareWeb.Features.Parameters;

namespace AkshareWeb.Features.Scripts;

public static class TestScript
{
    public sealed record Body(JsonElement? Parameters);

    public sealed record Command(string ScriptId, JsonElement? Parameters, Caller Caller) : ICommand<Result>;

    public sealed record Column(string Name, string Type);

    /// <summary>
    /// status "success"; rows_affected counts the rows fetched (nothing is written);
    /// columns are the types the table would get; sample_rows the first ten rows with the extra columns; message, when
    /// nothing came back, says so as a download does and names the dates asked.
    /// </summary>
    public sealed record Result(string Status, long RowsAffected, double ExecutionTime, IReadOnlyDictionary<string, string> Parameters,
        IReadOnlyList<Column> Columns, IReadOnlyList<Dictionary<string, JsonElement>> SampleRows, string? Message = null);

    /// <summary>A test counts against the user's running ad-hoc work, as a download does, while it runs.</summary>
    public sealed class Handler(
        DataScriptLibrary library, Database database, ParameterBinder binder, ValueSources sources, AkToolsClient akTools, SiteRates rates, Executions.AdhocQuota quotas)
        : ICommandHandler<Command, Result>
    {
        public async ValueTask<Result> Handle(Command command, CancellationToken ct)
        {
            var (script, _) = await library.FindAsync(command.ScriptId, ct) ?? throw ApiError.NotFound("script");
            await using (var connection = await database.OpenAsync(ct))
            {
                // Tasks and downloads meet the same check in ExecutionRunner; a test run fetches here, without one.
                if (await ScriptHealth.BrokenReasonAsync(connection, script.Id, ct) is { } broken)
                {
                    throw ApiError.Conflict($"the data script {script.Id} is broken: {broken}");
                }
            }

            // The quota first: binding may read the tables of a source and expanding them every value.
            var lease = await quotas.EnterAsync(command.Caller, scriptTest: true, ct);
            await lease.DisposeAsync();
            try
            {
                return await RunAsync(script, await FirstPartAsync(script, command.Parameters, ct), ct);
            }
            finally
            {
                await lease.EndScriptTestAsync();
            }
        }

        /// <summary>The values of the run a test stands for; of a parted run, its first part's (its since_last date resolved).</summary>
        private async Task<Dictionary<string, string>> FirstPartAsync(DataScriptDefinition script, JsonElement? supplied, CancellationToken ct)
        {
            var (parameters, parted) = await sources.BindAsync(script.Parameters, supplied, script.TargetTable, script.WriteMode, script.ExtraColumns, ct);
            if (parted.Count == 0) return parameters;
            try
            {
                // A test of a parted run fetches its first part: enough to see the columns and a sample.
                var first = (await sources.ExpandAsync(parted, ct)).FirstOrDefault() ?? [];
                foreach (var (name, value) in first) parameters[name] = value;
            }
            catch (InvalidOperationException e)
            {
                // A table that changed since the sources were checked (a column gone, more parts than allowed).
                throw ApiError.Validation("parameters", e.Message);
            }

            foreach (var (name, source) in parted.Where(s => s.Value.SinceLast is not null))
            {
                try
                {
                    if (await sources.SinceLastAsync(source, script.TargetTable, parameters, ct) is { } since) parameters[name] = since;
                }
                catch (InvalidOperationException e)
                {
                    // What would fail the part of a run (a date column the table lacks) is the request's problem here.
                    throw ApiError.Validation($"parameters.{name}.since_last", e.Message);
                }
            }

            if (AkToolsArguments.Problems(parameters) is [var problem, ..])
            {
                throw ApiError.Validation(problem.Field, $"{problem.Message} (the first part's value)");
            }

            return parameters;
        }

        private async Task<Result> RunAsync(DataScriptDefinition script, IReadOnlyDictionary<string, string> parameters, CancellationToken ct)
        {
            var extra = binder.ResolveExtraColumns(script.ExtraColumns, parameters);
            var watch = Stopwatch.StartNew();
            var types = new Dictionary<string, ColumnType?>(StringComparer.Ordinal);
            var sample = new List<Dictionary<string, JsonElement>>();
            long count = 0;
            string? empty = null;
            try
            {
                // Someone waits at the screen: a paused site family is said at once, not waited out.
                using var answer = await akTools.FetchAsync(script.Interface, parameters, ct, family: await rates.FamilyAsync(script.Interface, ct), waitWhilePaused: false);
                await foreach (var batch in answer.Rows.BatchesAsync(script.DatedColumns, extra, null, ct))
                {
                    for (var c = 0; c < batch.Columns.Count; c++)
                    {
                        var name = batch.Columns[c];
                        types[name] = (types.GetValueOrDefault(name), batch.Types[c]) switch
                        {
                            ({ } known, { } seen) => known.Widen(seen),
                            (var known, var seen) => known ?? seen,
                        };
                    }

                    for (var r = 0; r < batch.Count && sample.Count < 10; r++) sample.Add(batch.ToJson(r));
                    count += batch.Count;
                }
            }
            catch (AkToolsException e) when (e.EmptyResult)
            {
                empty = e.Message;
            }
            catch (AkToolsException e)
            {
                throw ApiError.DataCollection($"the test run of {script.Id} failed: {e.Message}",
                    new { rows_fetched = count, execution_time = Math.Round(watch.Elapsed.TotalSeconds, 3) });
            }

            return new Result("success", count, Math.Round(watch.Elapsed.TotalSeconds, 3), parameters,
                types.Select(t => new Column(t.Key, (t.Value ?? new ColumnType(ColumnKind.Text, 16)).SqlType)).ToList(), sample,
                count == 0 ? NoData(script, parameters, empty) : null);
        }

        /// <summary>What a download of the same values says, and the dates that were asked, so an empty window is seen as one.</summary>
        private static string NoData(DataScriptDefinition script, IReadOnlyDictionary<string, string> parameters, string? akTools)
        {
            var dates = script.Parameters.Where(p => p.Type == "date" && parameters.ContainsKey(p.Name)).Select(p => $"{p.Name} {parameters[p.Name]}").ToList();
            var asked = dates.Count > 0 ? $"; the dates asked: {string.Join(", ", dates)}" : "";
            return (akTools ?? $"AKShare had no data for {script.Interface} with these parameters (it returned no rows)") + asked;
        }
    }

    internal static async Task<Ok<Envelope<Result>>> Endpoint(string scriptId, Body? body, ClaimsPrincipal user, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<Result>.Success(await mediator.Send(new Command(scriptId, body?.Parameters, Caller.Of(user)), ct)));
}

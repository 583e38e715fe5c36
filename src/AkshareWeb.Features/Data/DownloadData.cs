using System.Security.Claims;
using System.Text.Json;
using Dapper;
using FluentValidation;
using Mediator;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Warehouse;
using AkshareWeb.Features.Executions;
using AkshareWeb.Features.Interfaces;
using AkshareWeb.Features.Scripts;
using AkshareWeb.Features.Parameters;

namespace AkshareWeb.Features.Data;

public static class DownloadData
{
    /// <summary>
    /// What to download, named in exactly one way: <c>interface_id</c> (the catalogue's id, as API.md has it),
    /// <c>interface_name</c> (the AKShare function, e.g. stock_zh_a_hist) or <c>script_id</c> (a data script: its
    /// interface, table, defaults and key, once).
    /// </summary>
    public sealed record Command(long? InterfaceId, JsonElement? Parameters, string? ScriptId = null, string? InterfaceName = null) : ICommand<Started>
    {
        internal Caller Caller { get; init; }
    }

    public sealed record Started(string ExecutionId, string Status, string TableName);

    public sealed class Validator : AbstractValidator<Command>
    {
        private static readonly string[] Ways = ["interface_id", "script_id", "interface_name"];

        public Validator()
        {
            // Attached to interface_id, which stays optional in the schema: any one of the three will do.
            RuleFor(c => c.InterfaceId).Custom((_, context) =>
            {
                var command = context.InstanceToValidate;
                var given = new List<string>();
                if (command.InterfaceId is not null) given.Add("interface_id");
                if (command.ScriptId is not null) given.Add("script_id");
                if (command.InterfaceName is not null) given.Add("interface_name");
                if (given.Count == 1) return;
                var message = given.Count == 0
                    ? "say what to download with one of interface_id (GET /api/interfaces/?keyword=...), script_id (GET /api/scripts/) or interface_name (the AKShare function, e.g. stock_zh_a_hist)"
                    : $"give only one of interface_id, script_id and interface_name ({string.Join(" and ", given)} were given)";
                foreach (var field in given.Count == 0 ? Ways : given.ToArray()) context.AddFailure(field, message);
            });
            RuleFor(c => c.InterfaceId).GreaterThan(0);
            RuleFor(c => c.ScriptId).NotEmpty().MaximumLength(64).When(c => c.ScriptId is not null);
            RuleFor(c => c.InterfaceName).NotEmpty().MaximumLength(128).When(c => c.InterfaceName is not null);
        }
    }

    /// <summary>What a download fetches and where it writes, from whichever name the request used.</summary>
    private sealed record Source(string Interface, string Table, string? DisplayName, string? Category, IReadOnlyList<ParameterDefinition> Definitions, DataScriptDefinition? Script);

    /// <summary>
    /// One download of an interface into ak_&lt;interface&gt;. When a data script fills that table, its key, write
    /// mode and constant columns are used, so a download and the scheduled runs agree; otherwise rows are
    /// appended with a row hash, so the same download twice adds nothing. A download by script_id runs that
    /// script once, into its own table with its own parameters' defaults, as a task of it would.
    /// </summary>
    public sealed class Handler(
        Database database, DataScriptLibrary library, ParameterBinder binder, ValueSources sources, ExecutionStore executions, ExecutionDispatcher dispatcher,
        AdhocQuota quotas)
        : ICommandHandler<Command, Started>
    {
        public async ValueTask<Started> Handle(Command command, CancellationToken ct)
        {
            var source = command.ScriptId is { } scriptId ? await OfScriptAsync(scriptId, ct) : await OfInterfaceAsync(command, ct);
            var script = source.Script;
            var extraColumns = script?.ExtraColumns ?? new Dictionary<string, string>();
            var (parameters, parted) = await sources.BindAsync(source.Definitions, command.Parameters, source.Table, script?.WriteMode ?? WriteModes.Append, extraColumns, ct);

            var plan = new ExecutionPlan(source.Interface, parameters, source.Table,
                script?.WriteMode ?? WriteModes.Append,
                script?.KeyColumns ?? [],
                ValueSources.ExtraColumns(binder, extraColumns, parameters, parted),
                "download", UserId: command.Caller.Id, DisplayName: script?.Name ?? source.DisplayName, Category: script?.Category ?? source.Category, ScriptId: script?.Id,
                DatedColumns: script?.DatedColumns, Sources: parted.Count > 0 ? parted : null);
            string executionId;
            await using (await quotas.EnterAsync(command.Caller, scriptTest: false, ct))
            {
                executionId = (await executions.CreateAsync(plan, ct))!;
            }

            dispatcher.DispatchAdhoc(executionId);
            return new Started(executionId, ExecutionStatuses.Pending, source.Table);
        }

        private async Task<Source> OfScriptAsync(string scriptId, CancellationToken ct)
        {
            var (script, active) = await library.FindAsync(scriptId, ct) ?? throw ApiError.NotFound("script");
            if (!active)
            {
                throw ApiError.Validation("script_id", $"the data script {scriptId} is deactivated");
            }

            return new Source(script.Interface, script.TargetTable, script.Name, script.Category, script.Parameters, script);
        }

        private async Task<Source> OfInterfaceAsync(Command command, CancellationToken ct)
        {
            await using var connection = await database.OpenAsync(ct);
            var row = (command.InterfaceName is { } name
                ? await InterfaceCatalog.FindByNameAsync(connection, name, ct)
                : await InterfaceCatalog.FindAsync(connection, command.InterfaceId!.Value, ct)) ?? throw ApiError.NotFound("interface");
            var table = "ak_" + row.Name.ToLowerInvariant();
            if (!TableNames.IsWarehouseTable(table))
            {
                throw ApiError.Validation(command.InterfaceName is null ? "interface_id" : "interface_name", $"the interface name {row.Name} does not make a table name");
            }

            var catalogued = await InterfaceCatalog.ParametersAsync(connection, row.Id, ct);
            var script = await library.FindFillingAsync(table, row.Name, ct);
            return new Source(row.Name, table, row.DisplayName, row.Category, WithScriptRoles(catalogued, script), script);
        }
    }

    /// <summary>
    /// The catalogue knows an interface's parameters, not what their values do to a script's rows: each one the
    /// script defines takes the script's role and column, so a since_last download matches a part's stored rows on
    /// its symbol (symbol -> 股票代码) as the script's task runs do, instead of on nothing.
    /// </summary>
    private static IReadOnlyList<ParameterDefinition> WithScriptRoles(IReadOnlyList<ParameterDefinition> catalogued, DataScriptDefinition? script) =>
        script is null ? catalogued : catalogued
            .Select(d => script.Parameters.FirstOrDefault(p => p.Name == d.Name) is { } own ? d with { Role = own.Role, Column = own.Column } : d)
            .ToList();

    internal static async Task<Ok<Envelope<Started>>> Endpoint(Command command, ClaimsPrincipal user, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(Envelope<Started>.Success(await mediator.Send(command with { Caller = Caller.Of(user) }, ct)));
}

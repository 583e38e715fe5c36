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
    public sealed record Command(long? InterfaceId, JsonElement? Parameters) : ICommand<Started>
    {
        internal Caller Caller { get; init; }
    }

    public sealed record Started(string ExecutionId, string Status, string TableName);

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator() => RuleFor(c => c.InterfaceId).NotNull().GreaterThan(0);
    }

    /// <summary>
    /// One download of an interface into ak_&lt;interface&gt;. When a data script fills that table, its key, write
    /// mode and constant columns are used, so a download and the scheduled runs agree; otherwise rows are
    /// appended with a row hash, so the same download twice adds nothing.
    /// </summary>
    public sealed class Handler(
        Database database, DataScriptLibrary scripts, ParameterBinder binder, ValueSources sources, ExecutionStore executions, ExecutionDispatcher dispatcher,
        AdhocQuota quotas)
        : ICommandHandler<Command, Started>
    {
        public async ValueTask<Started> Handle(Command command, CancellationToken ct)
        {
            await using var connection = await database.OpenAsync(ct);
            var row = await InterfaceCatalog.FindAsync(connection, command.InterfaceId!.Value, ct) ?? throw ApiError.NotFound("interface");
            var table = "ak_" + row.Name.ToLowerInvariant();
            if (!TableNames.IsWarehouseTable(table))
            {
                throw ApiError.Validation("interface_id", $"the interface name {row.Name} does not make a table name");
            }

            var catalogued = await InterfaceCatalog.ParametersAsync(connection, row.Id, ct);
            var script = await scripts.FindFillingAsync(table, row.Name, ct);
            var definitions = WithScriptRoles(catalogued, script);
            var extraColumns = script?.ExtraColumns ?? new Dictionary<string, string>();
            var (parameters, parted) = await sources.BindAsync(definitions, command.Parameters, table, script?.WriteMode ?? WriteModes.Append, extraColumns, ct);

            var plan = new ExecutionPlan(row.Name, parameters, table,
                script?.WriteMode ?? WriteModes.Append,
                script?.KeyColumns ?? [],
                ValueSources.ExtraColumns(binder, extraColumns, parameters, parted),
                "download", UserId: command.Caller.Id, DisplayName: script?.Name ?? row.DisplayName, Category: script?.Category ?? row.Category, ScriptId: script?.Id,
                DatedColumns: script?.DatedColumns, Sources: parted.Count > 0 ? parted : null);
            string executionId;
            await using (await quotas.EnterAsync(command.Caller, scriptTest: false, ct))
            {
                executionId = (await executions.CreateAsync(plan, ct))!;
            }

            dispatcher.DispatchAdhoc(executionId);
            return new Started(executionId, ExecutionStatuses.Pending, table);
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

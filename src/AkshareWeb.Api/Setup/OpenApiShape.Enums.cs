using AkshareWeb.Features.Auth;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Executions;
using AkshareWeb.Features.Notifications;
using AkshareWeb.Features.Tasks;
using NJsonSchema;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Api.Setup;

/// <summary>The closed sets of the contract (roles, statuses, error codes...) as named enum schemas, and the properties that hold them.</summary>
public sealed partial class OpenApiShape
{
    private static readonly (string Code, string Meaning)[] ErrorCodeMeanings =
    [
        ("-1", "general: a rule of the current state (409), too many requests (429), method not allowed (405), unexpected failure (500)"),
        ("1001", "authentication failed: missing, invalid or ended token, wrong credentials (401)"),
        ("1002", "token expired (401)"),
        ("1003", "permission denied: the role does not allow it (403)"),
        ("2001", "not found (404)"),
        ("2002", "already exists (409)"),
        ("3001", "validation failed (422); detail lists {field, message}"),
        ("3002", "bad format: a body that is not JSON or has the wrong shape, a query value of the wrong type (400)"),
        ("5001", "database error (500)"),
        ("5002", "scheduler error (500)"),
        ("5003", "data collection error: AKTools failed or is unreachable (502/500)"),
    ];

    private static Dictionary<string, JsonSchema> AddEnums(IDictionary<string, JsonSchema> schemas)
    {
        var enums = new Dictionary<string, JsonSchema>(StringComparer.Ordinal)
        {
            ["Role"] = StringEnum("A user's role: admins manage users, settings, scripts and see everyone's tasks and executions.", Roles.All),
            ["ExecutionStatus"] = StringEnum("Where an execution is: pending and running end in one of completed, failed, cancelled, timeout.", ExecutionStatuses.All),
            ["ScheduleType"] = StringEnum("cron (5 fields, Beijing time), interval (seconds), or once (an ISO date-time).", ScheduleTypes.All),
            ["WriteMode"] = StringEnum("How a script's rows reach its table: upsert on the natural key, append new rows, or replace the table.", WriteModes.All),
            ["TriggeredBy"] = StringEnum("What started an execution: the scheduler, a user running a task (manual), a download, a retry, or the end of a run of a task with backfill on (backfill, linked by backfill_of).", ["scheduler", "manual", "download", "retry", "backfill"]),
            ["SortOrder"] = StringEnum("Sort direction.", ["asc", "desc"]),
            ["ExportFormat"] = StringEnum("csv (UTF-8 with BOM), excel (xlsx) or parquet (column types kept).", ["csv", "excel", "parquet"]),
            ["RegistrationMode"] = StringEnum("Auth:Registration: open (anyone registers and is signed in), closed (403), approval (the account waits for an admin).", RegistrationModes.All),
            ["CoverageStatus"] = StringEnum("Which keys a coverage lists: gaps (missing something), complete, or all.", AkshareWeb.Features.Tables.CoverageReader.Statuses),
            ["CoverageUnit"] = StringEnum("What a key's rows follow: trading days, or trading weeks or months (weekly and monthly bars, by their period).", ["day", "week", "month"]),
            ["NotificationEvent"] = StringEnum("What a channel hears of: a run failed (run_failed), a task failed K times in a row (task_failing), a site family paused (site_paused), "
                + "runs failed after their instance died (instance_lost), a table stale or with gaps (table_gaps).", NotificationEvents.All),
            ["DeliveredEvent"] = StringEnum("A delivery's event: one a channel hears of, a channel's test message (test), or the message summing up those the per-minute cap held back (summary).",
                NotificationEvents.Delivered),
            ["ChannelType"] = StringEnum("A generic signed JSON webhook, a DingTalk, WeCom or Feishu/Lark robot, a Slack-compatible incoming webhook, or email over SMTP.", ChannelTypes.All),
            ["ChannelScope"] = StringEnum("mine: the owner's own tasks and downloads; all (admins only): everything.", ChannelScopes.Values),
            ["DeliveryStatus"] = StringEnum("pending (queued or waiting to retry), sending, sent, failed, or summarised (held back by the per-minute cap and sent inside summary_id).", DeliveryStatuses.All),
            ["SmtpSecurity"] = StringEnum("STARTTLS on the plain port, TLS from the start (ssl), or none (no password then).", SmtpSecurity.All),
        };
        var codes = new JsonSchema
        {
            Type = JsonObjectType.Integer,
            Format = "int32",
            Description = "The error envelope's code: " + string.Join("; ", ErrorCodeMeanings.Select(c => $"{c.Code} {c.Meaning}")) + ".",
        };
        foreach (var (code, _) in ErrorCodeMeanings) codes.Enumeration.Add(int.Parse(code, System.Globalization.CultureInfo.InvariantCulture));
        foreach (var name in new[] { "General", "AuthenticationFailed", "TokenExpired", "Forbidden", "NotFound", "AlreadyExists", "ValidationFailed", "BadFormat", "Database", "Scheduler", "DataCollection" })
        {
            codes.EnumerationNames.Add(name);
        }

        codes.ExtensionData = new Dictionary<string, object?> { ["x-enum-descriptions"] = ErrorCodeMeanings.Select(c => c.Meaning).ToArray() };
        enums["ErrorCode"] = codes;
        foreach (var (name, schema) in enums) schemas[name] = schema;
        return enums;
    }

    private static JsonSchema StringEnum(string description, IEnumerable<string> values)
    {
        var schema = new JsonSchema { Type = JsonObjectType.String, Description = description };
        foreach (var value in values) schema.Enumeration.Add(value);
        return schema;
    }

    /// <summary>schema.property → enum, for the string properties that hold a closed set.</summary>
    private static readonly Dictionary<string, string> EnumProperties = new(StringComparer.Ordinal)
    {
        ["UserProfile.role"] = "Role",
        ["UserAccount.role"] = "Role",
        ["UpdateUserRequest.role"] = "Role",
        ["ExecutionView.status"] = "ExecutionStatus",
        ["ExecutionView.triggered_by"] = "TriggeredBy",
        ["DownloadStatus.status"] = "ExecutionStatus",
        ["DownloadResult.status"] = "ExecutionStatus",
        ["DownloadStarted.status"] = "ExecutionStatus",
        ["TaskRunStarted.status"] = "ExecutionStatus",
        ["RetryStarted.status"] = "ExecutionStatus",
        ["TaskView.last_status"] = "ExecutionStatus",
        ["TaskView.schedule_type"] = "ScheduleType",
        ["CreateTaskRequest.schedule_type"] = "ScheduleType",
        ["UpdateTaskRequest.schedule_type"] = "ScheduleType",
        ["PreviewScheduleRequest.schedule_type"] = "ScheduleType",
        ["ScriptSummary.write_mode"] = "WriteMode",
        ["ScriptDetail.write_mode"] = "WriteMode",
        ["ErrorEnvelope.code"] = "ErrorCode",
        ["RegistrationInfo.mode"] = "RegistrationMode",
        ["KeyCoverage.unit"] = "CoverageUnit",
        ["ChannelView.type"] = "ChannelType",
        ["ChannelView.scope"] = "ChannelScope",
        ["ChannelView.events"] = "NotificationEvent[]",
        ["CreateChannelRequest.type"] = "ChannelType",
        ["CreateChannelRequest.scope"] = "ChannelScope",
        ["CreateChannelRequest.events"] = "NotificationEvent[]",
        ["UpdateChannelRequest.type"] = "ChannelType",
        ["UpdateChannelRequest.scope"] = "ChannelScope",
        ["UpdateChannelRequest.events"] = "NotificationEvent[]",
        ["SmtpView.security"] = "SmtpSecurity",
        ["SmtpSettings.security"] = "SmtpSecurity",
        ["DeliveryView.event"] = "DeliveredEvent",
        ["DeliveryView.status"] = "DeliveryStatus",
        ["DeliveryView.channel_type"] = "ChannelType",
    };

    private static void UseEnums(string schemaName, JsonSchema schema, Dictionary<string, JsonSchema> enums, HashSet<JsonSchema> requests)
    {
        foreach (var (name, property) in schema.Properties.ToList())
        {
            if (!EnumProperties.TryGetValue(schemaName + "." + name, out var enumName)) continue;
            var replacement = new JsonSchemaProperty { Description = property.Description };
            if (enumName.EndsWith("[]", StringComparison.Ordinal))
            {
                // A list of the set's values: the items refer to the enum.
                replacement.Type = JsonObjectType.Array;
                replacement.IsNullableRaw = property.IsNullableRaw;
                replacement.Item = new JsonSchema { Reference = enums[enumName[..^2]] };
                var wasRequired = property.IsRequired;
                schema.Properties[name] = replacement;
                replacement.IsRequired = wasRequired;
                continue;
            }

            // In a request an absent property and a null one mean the same (unchanged), so only an answer's null
            // is kept. OpenAPI 3.0 ignores siblings of $ref: a nullable reference is a one-element allOf with the type.
            if (property.IsNullable(SchemaType.OpenApi3) && !requests.Contains(schema))
            {
                replacement.Type = enums[enumName].Type;
                replacement.IsNullableRaw = true;
                replacement.AllOf.Add(new JsonSchema { Reference = enums[enumName] });
            }
            else
            {
                replacement.Reference = enums[enumName];
            }

            var required = property.IsRequired;
            schema.Properties[name] = replacement;
            replacement.IsRequired = required;
        }
    }
}

using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Executions;
using AkshareWeb.Features.Tasks;
using FluentValidation;
using FluentValidation.Validators;
using NJsonSchema;
using NJsonSchema.Generation;
using NSwag;
using NSwag.Generation.Processors;
using NSwag.Generation.Processors.Contexts;

namespace AkshareWeb.Api.Setup;

/// <summary>
/// Turns what NSwag reads from the C# types into what a client generator needs to make good types: what the
/// server always sends or always needs is required, closed sets are enums, fields the server never reads are
/// gone, every operation names the errors it can answer, and parameters carry their bounds. The rules come from
/// the code where the code knows them (validators, constants, property visibility), so a slice changed by
/// someone else keeps a truthful document.
/// </summary>
public sealed class OpenApiShape(IServiceProvider services) : IDocumentProcessor
{
    private const string Xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

    /// <summary>The CLR type behind each generated schema, recorded while NSwag generates them.</summary>
    public ConcurrentDictionary<JsonSchema, Type> Types { get; } = new(ReferenceEqualityComparer.Instance);

    public ISchemaProcessor Recorder => new TypeRecorder(Types);

    public void Process(DocumentProcessorContext context)
    {
        var document = context.Document;
        var schemas = document.Components.Schemas;
        var enums = AddEnums(schemas);
        var (requests, responses) = Reachable(document);

        foreach (var (name, schema) in schemas)
        {
            if (!Types.TryGetValue(schema, out var type)) continue;
            DropUnreadProperties(schema, type);
            if (responses.Contains(schema)) RequireEverything(schema);
            if (requests.Contains(schema)) RequireWhatValidatorsNeed(schema, type);
            if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Envelope<>)) TypeDataDirectly(schema);
            TypeParameterObjects(schema, type);
            UseEnums(name, schema, enums, requests);
            DescribeUntyped(schema);
        }

        foreach (var description in document.Operations)
        {
            var operation = description.Operation;
            DeclareErrors(operation);
            ShapeParameters(operation, enums);
            if (operation.RequestBody?.Content.TryGetValue("application/json", out var body) == true &&
                Examples.TryGetValue(operation.OperationId, out var example))
            {
                body.Example = example;
            }

            if (operation.OperationId == "ExportTable") DeclareExportMediaTypes(operation);
        }
    }

    private sealed class TypeRecorder(ConcurrentDictionary<JsonSchema, Type> types) : ISchemaProcessor
    {
        public void Process(SchemaProcessorContext context) => types[context.Schema] = context.ContextualType.Type;
    }

    // ---- closed sets ---------------------------------------------------------------------------------------

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
            ["TriggeredBy"] = StringEnum("What started an execution: the scheduler, a user running a task (manual), a download, or a retry.", ["scheduler", "manual", "download", "retry"]),
            ["SortOrder"] = StringEnum("Sort direction.", ["asc", "desc"]),
            ["ExportFormat"] = StringEnum("csv (UTF-8 with BOM) or excel (xlsx).", ["csv", "excel"]),
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
        ["ScriptSummary.write_mode"] = "WriteMode",
        ["ScriptDetail.write_mode"] = "WriteMode",
        ["ErrorEnvelope.code"] = "ErrorCode",
    };

    private static void UseEnums(string schemaName, JsonSchema schema, Dictionary<string, JsonSchema> enums, HashSet<JsonSchema> requests)
    {
        foreach (var (name, property) in schema.Properties.ToList())
        {
            if (!EnumProperties.TryGetValue(schemaName + "." + name, out var enumName)) continue;
            var replacement = new JsonSchemaProperty { Description = property.Description };
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

    // ---- required, nullable, fields ------------------------------------------------------------------------

    /// <summary>Schemas reachable from request bodies and from success answers.</summary>
    private static (HashSet<JsonSchema> Requests, HashSet<JsonSchema> Responses) Reachable(OpenApiDocument document)
    {
        var requests = new HashSet<JsonSchema>(ReferenceEqualityComparer.Instance);
        var responses = new HashSet<JsonSchema>(ReferenceEqualityComparer.Instance);
        foreach (var description in document.Operations)
        {
            var operation = description.Operation;
            foreach (var media in operation.RequestBody?.Content.Values ?? Enumerable.Empty<OpenApiMediaType>()) Walk(media.Schema, requests);
            foreach (var (_, response) in operation.Responses)
            {
                foreach (var media in response.Content.Values) Walk(media.Schema, responses);
            }
        }

        return (requests, responses);
    }

    private static void Walk(JsonSchema? schema, HashSet<JsonSchema> seen)
    {
        if (schema is null) return;
        var actual = schema.HasReference ? schema.Reference! : schema;
        if (!ReferenceEquals(actual, schema)) Walk(actual, seen);
        if (!seen.Add(schema)) return;
        foreach (var property in schema.Properties.Values) Walk(property, seen);
        Walk(schema.Item, seen);
        Walk(schema.AdditionalPropertiesSchema, seen);
        foreach (var inner in schema.OneOf.Concat(schema.AllOf).Concat(schema.AnyOf)) Walk(inner, seen);
    }

    private static string JsonName(PropertyInfo property) =>
        property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.SnakeCaseLower.ConvertName(property.Name);

    /// <summary>An internal property (the caller's id, filled from the token) is never read from a body.</summary>
    private static void DropUnreadProperties(JsonSchema schema, Type type)
    {
        foreach (var property in type.GetProperties(BindingFlags.Instance | BindingFlags.NonPublic))
        {
            if (property.GetMethod is { IsPublic: false } && property.GetCustomAttribute<JsonIncludeAttribute>() is null)
            {
                schema.Properties.Remove(JsonName(property));
            }
        }
    }

    /// <summary>Answers are written with every property, null or not.</summary>
    private static void RequireEverything(JsonSchema schema)
    {
        foreach (var property in schema.Properties.Values) property.IsRequired = true;
    }

    /// <summary>
    /// A request property is required when its slice's validator refuses it missing (NotNull, NotEmpty without a
    /// condition); such a property is not nullable either. Bounds the validator enforces become the schema's.
    /// A slice's Body is validated as its Command.
    /// </summary>
    private void RequireWhatValidatorsNeed(JsonSchema schema, Type type)
    {
        var validated = type.Name == "Body" && type.DeclaringType?.GetNestedType("Command") is { } command ? command : type;
        if (services.GetService(typeof(IValidator<>).MakeGenericType(validated)) is not IValidator validator) return;
        var descriptor = validator.CreateDescriptor();
        foreach (var property in validated.GetProperties())
        {
            if (!schema.Properties.TryGetValue(JsonName(property), out var target)) continue;
            foreach (var (check, component) in descriptor.GetValidatorsForMember(property.Name))
            {
                if (component.HasCondition || component.HasAsyncCondition) continue;
                switch (check)
                {
                    case INotNullValidator or INotEmptyValidator:
                        target.IsRequired = true;
                        target.IsNullableRaw = null;
                        break;
                    case IBetweenValidator { From: IConvertible from, To: IConvertible to } between when between.Name == "InclusiveBetweenValidator":
                        target.Minimum = from.ToDecimal(System.Globalization.CultureInfo.InvariantCulture);
                        target.Maximum = to.ToDecimal(System.Globalization.CultureInfo.InvariantCulture);
                        break;
                    case ILengthValidator length:
                        if (length.Min > 0) target.MinLength = length.Min;
                        if (length.Max > 0) target.MaxLength = length.Max;
                        break;
                }
            }
        }
    }

    /// <summary>NSwag wraps a generic T in oneOf with nullable; the envelope's data is never null.</summary>
    private static void TypeDataDirectly(JsonSchema schema)
    {
        if (!schema.Properties.TryGetValue("data", out var data)) return;
        data.IsNullableRaw = null;
        if (data.OneOf.Count != 1) return;
        var inner = data.OneOf.Single();
        data.OneOf.Clear();
        data.IsNullableRaw = null;
        if (inner.HasReference) data.Reference = inner.Reference;
        else
        {
            data.Type = inner.Type;
            data.Item = inner.Item;
        }
    }

    /// <summary>AKShare arguments (and a run's result) are JSON objects, not "anything".</summary>
    private static void TypeParameterObjects(JsonSchema schema, Type type)
    {
        foreach (var property in type.GetProperties())
        {
            if (property.PropertyType != typeof(JsonElement) && property.PropertyType != typeof(JsonElement?)) continue;
            if (!schema.Properties.TryGetValue(JsonName(property), out var target)) continue;
            if (JsonName(property) is not ("parameters" or "result" or "outputs")) continue;
            target.Type = JsonObjectType.Object;
            target.AdditionalPropertiesSchema = new JsonSchema();
        }
    }

    /// <summary>A property that can hold anything (the error's detail) has no type for null to be a sibling of.</summary>
    private static void DescribeUntyped(JsonSchema schema)
    {
        foreach (var (name, property) in schema.Properties)
        {
            if (property.Type != JsonObjectType.None || property.HasReference || property.OneOf.Count > 0 || property.AllOf.Count > 0) continue;
            property.IsNullableRaw = null;
            if (name == "detail")
            {
                property.Description = "null; for a validation error (3001) the list of {field, message}; otherwise what else is known.";
            }
        }
    }

    // ---- operations ----------------------------------------------------------------------------------------

    private static readonly Dictionary<string, string> StatusTexts = new(StringComparer.Ordinal)
    {
        ["200"] = "Success: the envelope {code: 0, message, data}.",
        ["201"] = "Created: the envelope {code: 0, message, data}.",
        ["400"] = "A body that is not JSON or has the wrong shape, or a query value of the wrong type (code 3002).",
        ["401"] = "Missing, invalid or ended token (1001), expired token (1002), or wrong credentials.",
        ["403"] = "The caller's role does not allow this (1003).",
        ["404"] = "Not found, or not the caller's (2001).",
        ["409"] = "Already exists (2002), or the current state forbids it (-1).",
        ["422"] = "Validation failed (3001); detail lists {field, message}.",
        ["429"] = "Too many requests (-1); the Retry-After header says when to try again.",
        ["500"] = "Database (5001), scheduler (5002) or unexpected (-1) failure; never a stack trace.",
        ["502"] = "AKTools failed or could not be reached (5003).",
    };

    /// <summary>The global rate limiter can answer any request with 429; an authenticated one can be a 401.</summary>
    private static void DeclareErrors(OpenApiOperation operation)
    {
        var error = operation.Responses.Values.Select(r => r.Content.TryGetValue("application/json", out var m) ? m.Schema : null)
            .FirstOrDefault(s => s?.Reference is { } r && r.Properties.ContainsKey("detail"));
        if (error is not null)
        {
            if (!operation.Responses.ContainsKey("429")) operation.Responses["429"] = ErrorResponse(error.Reference!);
            if (operation.ActualSecurity?.Count > 0 && !operation.Responses.ContainsKey("401")) operation.Responses["401"] = ErrorResponse(error.Reference!);
        }

        foreach (var (status, response) in operation.Responses)
        {
            if (string.IsNullOrEmpty(response.Description) && StatusTexts.TryGetValue(status, out var text)) response.Description = text;
        }

        var ordered = operation.Responses.OrderBy(r => r.Key, StringComparer.Ordinal).ToList();
        operation.Responses.Clear();
        foreach (var (status, response) in ordered) operation.Responses[status] = response;
    }

    private static OpenApiResponse ErrorResponse(JsonSchema error)
    {
        var response = new OpenApiResponse();
        response.Content["application/json"] = new OpenApiMediaType { Schema = new JsonSchema { Reference = error } };
        return response;
    }

    private static void ShapeParameters(OpenApiOperation operation, Dictionary<string, JsonSchema> enums)
    {
        foreach (var parameter in operation.Parameters.Where(p => p.Kind == OpenApiParameterKind.Query))
        {
            var schema = parameter.Schema;
            if (schema is null) continue;
            // An absent query value is how a client says "none"; null is not something a query string can send.
            schema.IsNullableRaw = null;
            switch (parameter.Name)
            {
                case "page":
                    schema.Minimum = 1;
                    schema.Maximum = 1_000_000;
                    schema.Default = 1;
                    break;
                case "page_size":
                    schema.Minimum = 1;
                    schema.Maximum = PageRequest.MaxPageSize;
                    schema.Default = operation.OperationId == "GetTableData" ? PageRequest.MaxPageSize : 20;
                    break;
                case "limit":
                    schema.Minimum = 1;
                    break;
                case "sort_order":
                    parameter.Schema = Enum(enums["SortOrder"], "asc");
                    break;
                case "format":
                    parameter.Schema = Enum(enums["ExportFormat"], "csv");
                    break;
                case "status":
                    parameter.Schema = Enum(enums["ExecutionStatus"], null);
                    break;
                case "role":
                    parameter.Schema = Enum(enums["Role"], null);
                    break;
            }
        }
    }

    private static JsonSchema Enum(JsonSchema target, string? defaultValue)
    {
        var schema = new JsonSchema { Reference = target };
        if (defaultValue is not null)
        {
            // OpenAPI 3.0 ignores siblings of $ref, so a default is carried by allOf around it.
            schema = new JsonSchema { Default = defaultValue };
            schema.AllOf.Add(new JsonSchema { Reference = target });
        }

        return schema;
    }

    private static void DeclareExportMediaTypes(OpenApiOperation operation)
    {
        if (!operation.Responses.TryGetValue("200", out var ok)) return;
        ok.Description = "The table as a file: text/csv (UTF-8 with BOM) for format=csv, xlsx for format=excel.";
        ok.Content.Clear();
        foreach (var media in new[] { "text/csv", Xlsx })
        {
            ok.Content[media] = new OpenApiMediaType { Schema = new JsonSchema { Type = JsonObjectType.String, Format = JsonFormatStrings.Binary } };
        }
    }

    // ---- examples ------------------------------------------------------------------------------------------

    private static readonly Dictionary<string, object> Examples = new(StringComparer.Ordinal)
    {
        ["Register"] = new Dictionary<string, object?> { ["username"] = "quant01", ["email"] = "quant01@example.com", ["password"] = "s3cret-pass", ["password_confirm"] = "s3cret-pass" },
        ["Login"] = new Dictionary<string, object?> { ["username"] = "quant01", ["password"] = "s3cret-pass" },
        ["RefreshToken"] = new Dictionary<string, object?> { ["refresh_token"] = "the refresh_token of the last login or refresh" },
        ["UpdateUser"] = new Dictionary<string, object?> { ["email"] = "quant01@example.org", ["role"] = "user", ["is_active"] = true },
        ["ResetUserPassword"] = new Dictionary<string, object?> { ["new_password"] = "another-pass-1" },
        ["ChangePassword"] = new Dictionary<string, object?> { ["current_password"] = "s3cret-pass", ["new_password"] = "another-pass-1" },
        ["UpdateSettings"] = new Dictionary<string, object?> { ["max_concurrent_tasks"] = 4, ["default_timeout"] = 600, ["retry_enabled"] = true, ["max_retries"] = 3 },
        ["UpdateDatabaseSettings"] = new Dictionary<string, object?> { ["host"] = "db.internal", ["port"] = 3306, ["database"] = "akshare_data", ["username"] = "akshare", ["password"] = "db-pass" },
        ["TestDatabaseConnection"] = new Dictionary<string, object?> { ["host"] = "db.internal", ["port"] = 3306, ["database"] = "akshare_data", ["username"] = "akshare", ["password"] = "db-pass" },
        ["TestScript"] = new Dictionary<string, object?> { ["parameters"] = new Dictionary<string, object?> { ["symbol"] = "000001" } },
        ["DownloadData"] = new Dictionary<string, object?> { ["interface_id"] = 1, ["parameters"] = new Dictionary<string, object?> { ["symbol"] = "000001", ["start_date"] = "20240101", ["end_date"] = "20241231" } },
        ["CreateTask"] = new Dictionary<string, object?>
        {
            ["name"] = "Ping An Bank daily bars", ["description"] = "after the close", ["script_id"] = "stock_zh_a_hist",
            ["schedule_type"] = "cron", ["schedule_expression"] = "0 16 * * 1-5", ["parameters"] = new Dictionary<string, object?> { ["symbol"] = "000001" },
            ["retry_on_failure"] = true, ["max_retries"] = 3, ["timeout_seconds"] = 600, ["is_active"] = true,
        },
        ["UpdateTask"] = new Dictionary<string, object?> { ["schedule_expression"] = "30 16 * * 1-5", ["is_active"] = true },
    };
}

using AkshareWeb.Features.Common;
using NJsonSchema;
using NSwag;

namespace AkshareWeb.Api.Setup;

/// <summary>What every operation declares: its error answers, its query parameters' bounds, its request example.</summary>
public sealed partial class OpenApiShape
{
    private const string Xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    private const string Parquet = "application/vnd.apache.parquet";

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
                    parameter.Schema = operation.OperationId switch
                    {
                        "GetTableCoverage" => Enum(enums["CoverageStatus"], "all"),
                        "ListDeliveries" => Enum(enums["DeliveryStatus"], null),
                        _ => Enum(enums["ExecutionStatus"], null),
                    };
                    break;
                case "from" or "to":
                    schema.Format = "date";
                    break;
                case "event":
                    parameter.Schema = Enum(enums["DeliveredEvent"], null);
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
        ok.Description = "The table as a file: text/csv (UTF-8 with BOM) for format=csv, xlsx for format=excel, Parquet for format=parquet.";
        ok.Content.Clear();
        foreach (var media in new[] { "text/csv", Xlsx, Parquet })
        {
            ok.Content[media] = new OpenApiMediaType { Schema = new JsonSchema { Type = JsonObjectType.String, Format = JsonFormatStrings.Binary } };
        }
    }

    /// <summary>
    /// The filters are query keys the endpoint reads from the query string itself (filter[列]=v, filter[列][op]=v), so
    /// NSwag sees no parameter. They are declared as one object in form style, exploded: each of its entries is a
    /// query key and value of its own, so the entry's key is the whole filter[...] key. Both generated clients take it
    /// as a dictionary (C#: IDictionary&lt;string, string&gt;; TypeScript: a record, which the client's query
    /// serializer writes key=value).
    /// </summary>
    private static void DeclareFilters(OpenApiOperation operation)
    {
        if (operation.Parameters.Any(p => p.Name == "filter")) return;
        var example = new Dictionary<string, string>(StringComparer.Ordinal) { ["filter[股票代码]"] = "000001", ["filter[日期][gte]"] = "2024-01-01" };
        operation.Parameters.Add(new OpenApiParameter
        {
            Name = "filter",
            Kind = OpenApiParameterKind.Query,
            Style = OpenApiParameterStyle.Form,
            Explode = true,
            IsRequired = false,
            Position = operation.Parameters.Count + 1,
            Description = "Filters, each a query key of its own: filter[column]=value (equal), or filter[column][op]=value with op gt, gte, lt, lte or like " +
                "(contains); a column by its SQL or AKShare name; several are all applied. A DATE takes yyyy-MM-dd or yyyyMMdd, a DATETIME also a full " +
                "timestamp. An unknown column or operator, or a value not of the column's type, is a 422. Percent-encode the keys (the column names).",
            Schema = new JsonSchema { Type = JsonObjectType.Object, AdditionalPropertiesSchema = new JsonSchema { Type = JsonObjectType.String } },
            Example = example,
        });
    }
}

using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using AkshareWeb.Features.Common;
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
/// someone else keeps a truthful document. The closed sets are in OpenApiShape.Enums.cs, the operations' errors,
/// parameters and examples in OpenApiShape.Operations.cs.
/// </summary>
public sealed partial class OpenApiShape(IServiceProvider services) : IDocumentProcessor
{
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
            NullableReferences(schema, requests.Contains(schema));
            DescribeUntyped(schema);
        }

        // A request's Caller is set from its token by the endpoint, never read from a body: once the internal
        // properties that carry it are dropped, its schema is referenced by nothing and is no part of the contract.
        foreach (var name in schemas.Where(s => Types.TryGetValue(s.Value, out var type) && type == typeof(Caller)).Select(s => s.Key).ToList())
        {
            schemas.Remove(name);
        }

        foreach (var description in document.Operations)
        {
            var operation = description.Operation;
            DeclareErrors(operation);
            ShapeParameters(operation, enums);
            if (operation.RequestBody?.Content.TryGetValue("application/json", out var body) == true &&
                OpenApiExamples.All.TryGetValue(operation.OperationId, out var example))
            {
                body.Example = example;
            }

            if (operation.OperationId == "ExportTable") DeclareExportMediaTypes(operation);
            if (operation.OperationId is "GetTableData" or "ExportTable" or "GetTableCoverage") DeclareFilters(operation);
        }
    }

    private sealed class TypeRecorder(ConcurrentDictionary<JsonSchema, Type> types) : ISchemaProcessor
    {
        public void Process(SchemaProcessorContext context) => types[context.Schema] = context.ContextualType.Type;
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

    /// <summary>
    /// A property that holds another schema or null (an email channel's smtp): NSwag writes a one-element oneOf beside
    /// nullable, which OpenAPI 3.0 tools reject. In an answer it becomes a nullable object around a one-element allOf
    /// (siblings of $ref are ignored); in a request an absent property and a null one mean the same, so it is the
    /// plain reference.
    /// </summary>
    private static void NullableReferences(JsonSchema schema, bool request)
    {
        foreach (var property in schema.Properties.Values)
        {
            if (property.OneOf.Count != 1 || property.OneOf.Single().Reference is not { } target) continue;
            property.OneOf.Clear();
            if (request)
            {
                property.IsNullableRaw = null;
                property.Reference = target;
            }
            else
            {
                property.Type = JsonObjectType.Object;
                property.IsNullableRaw = true;
                property.AllOf.Add(new JsonSchema { Reference = target });
            }
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
}

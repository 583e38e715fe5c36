using NJsonSchema.Generation;

namespace AkshareWeb.Api.Setup;

/// <summary>
/// Names the document's schemas after the slice a type belongs to, so the generated clients get stable,
/// meaningful type names: a slice's <c>Body</c>, or its <c>Command</c> when it has no Body, is its request (<c>Register.Command</c> →
/// <c>RegisterRequest</c>), any other nested type with a generic name takes the slice's name in front
/// (<c>ExecuteTask.Started</c> → <c>ExecuteTaskStarted</c>), a nested type with a name of its own keeps it, and a
/// few get a better name from <see cref="Chosen"/>. NSwag's default names a type by its simple name and numbers
/// clashes (<c>Command2</c>), so adding an endpoint would rename the SDK's types.
/// </summary>
public sealed class OpenApiSchemaNames : ISchemaNameGenerator
{
    /// <summary>Names that mean nothing without their slice: never a schema name on their own.</summary>
    public static readonly IReadOnlySet<string> Generic = new HashSet<string>(StringComparer.Ordinal)
    {
        "Command", "Query", "Body", "Result", "Started", "Status", "Stats", "Toggled", "Column", "Row", "Request",
        "Response", "Item", "View", "Parameters", "Envelope", "Paged",
    };

    /// <summary>Where the rule's name would be poor: "slice.nested" → name.</summary>
    private static readonly Dictionary<string, string> Chosen = new(StringComparer.Ordinal)
    {
        ["DownloadData.Command"] = "DownloadRequest",
        ["DownloadData.Started"] = "DownloadStarted",
        ["ExecuteTask.Started"] = "TaskRunStarted",
        ["RetryExecution.Started"] = "RetryStarted",
        ["OpenDashboardSession.Result"] = "DashboardSession",
        ["TestDatabaseConnection.Result"] = "ConnectionTestResult",
        ["TestScript.Result"] = "ScriptTestResult",
        ["TestScript.Column"] = "ScriptTestColumn",
        ["GetSchedulerStatus.Status"] = "SchedulerStatus",
        ["GetExecutionStats.Stats"] = "ExecutionStats",
        ["ToggleScript.Toggled"] = "ScriptToggled",
        ["Register.Pending"] = "RegistrationPending",
        ["GetRegistrationMode.Result"] = "RegistrationInfo",
        ["PreviewSchedule.Result"] = "SchedulePreview",
        // Slices renamed to match their routes (issue 15) keep the schema names the published clients already use.
        ["RefreshToken.Command"] = "RefreshRequest",
        ["ResetUserPassword.Body"] = "ResetPasswordRequest",
    };

    public string Generate(Type type) => NameOf(type);

    public static string NameOf(Type type)
    {
        if (type.IsArray) return "ListOf" + NameOf(type.GetElementType()!);
        if (type.IsGenericType)
        {
            var definition = type.GetGenericTypeDefinition();
            var arguments = type.GetGenericArguments();
            if (definition == typeof(Nullable<>)) return NameOf(arguments[0]);
            if ((arguments.Length == 1 && typeof(System.Collections.IEnumerable).IsAssignableFrom(type)) || IsListInterface(definition))
            {
                return "ListOf" + NameOf(arguments[0]);
            }

            if (arguments.Length == 2 && typeof(System.Collections.IEnumerable).IsAssignableFrom(type))
            {
                return "MapOf" + NameOf(arguments[1]);
            }

            var plain = definition.Name[..definition.Name.IndexOf('`', StringComparison.Ordinal)];
            return Nested(type, plain) + "Of" + string.Join("And", arguments.Select(NameOf));
        }

        return Nested(type, type.Name);
    }

    private static bool IsListInterface(Type definition) =>
        definition == typeof(IReadOnlyList<>) || definition == typeof(IList<>) || definition == typeof(IEnumerable<>) ||
        definition == typeof(ICollection<>) || definition == typeof(IReadOnlyCollection<>);

    private static string Nested(Type type, string name)
    {
        if (type.DeclaringType is not { } slice) return name;
        if (Chosen.TryGetValue(slice.Name + "." + name, out var chosen)) return chosen;
        // Where a slice has a Body, that is what the client sends; its Command is built from the route and the body.
        if (name == "Command" && slice.GetNestedType("Body") is not null) return slice.Name + "Command";
        if (name is "Command" or "Body") return slice.Name + "Request";
        return Generic.Contains(name) ? slice.Name + name : name;
    }
}

namespace AkshareWeb.Features.Parameters;

/// <summary>A parameter as the API shows it, for scripts and interfaces alike.</summary>
public sealed record ParameterView(string Name, string Type, bool Required, string? DefaultValue, string? Description, string? Format, IReadOnlyList<string>? Allowed)
{
    public static ParameterView Of(ParameterDefinition p) => new(p.Name, p.Type, p.Required, p.DefaultValue, p.Description, p.Format, p.Allowed);
}

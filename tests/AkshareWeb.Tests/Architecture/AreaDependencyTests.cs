using System.Reflection;
using AkshareWeb.Features.Common;
using NetArchTest.Rules;

namespace AkshareWeb.Tests.Architecture;

/// <summary>
/// The dependency rules between feature areas (the folders of src/AkshareWeb.Features, one namespace each): no two
/// areas use each other, Common uses none, and the collection engine stays apart from what runs it and from the
/// readers of its tables. A new two-way dependency fails here, naming the areas and the types that make it.
/// </summary>
public sealed class AreaDependencyTests
{
    private const string Root = "AkshareWeb.Features";

    private static readonly Assembly Features = typeof(Caller).Assembly;

    /// <summary>The assembly read once: reading it again for each of the couple of hundred area pairs took most of
    /// these tests' 14 s.</summary>
    private static readonly Types FeatureTypes = Types.InAssembly(Features);

    /// <summary>Every area, read from the namespaces the assembly has (AkshareWeb.Features.&lt;Area&gt;).</summary>
    public static readonly string[] Areas = Features.GetTypes()
        .Select(t => t.Namespace)
        .Where(ns => ns is not null && ns.StartsWith(Root + ".", StringComparison.Ordinal))
        .Select(ns => ns![(Root.Length + 1)..].Split('.')[0])
        .Distinct(StringComparer.Ordinal)
        .Order(StringComparer.Ordinal)
        .ToArray();

    [Fact]
    public void No_two_areas_use_each_other()
    {
        var cycles = new List<string>();
        for (var i = 0; i < Areas.Length; i++)
        {
            for (var j = i + 1; j < Areas.Length; j++)
            {
                var forward = TypesUsing(Areas[i], Areas[j]);
                var backward = TypesUsing(Areas[j], Areas[i]);
                if (forward.Count > 0 && backward.Count > 0)
                {
                    cycles.Add($"{Areas[i]} <-> {Areas[j]}: {Areas[i]} uses {Areas[j]} in {string.Join(", ", forward)}; "
                        + $"{Areas[j]} uses {Areas[i]} in {string.Join(", ", backward)}");
                }
            }
        }

        Assert.True(cycles.Count == 0, "Feature areas that use each other (move what both need to an area both use):\n" + string.Join("\n", cycles));
    }

    [Fact]
    public void Common_uses_no_feature_area()
    {
        var uses = Areas.Where(a => a != "Common")
            .Select(a => (Area: a, Types: TypesUsing("Common", a)))
            .Where(u => u.Types.Count > 0)
            .Select(u => $"Common uses {u.Area} in {string.Join(", ", u.Types)}")
            .ToList();
        Assert.True(uses.Count == 0, string.Join("\n", uses));
    }

    [Theory]
    [InlineData("Collection", "Executions")]
    [InlineData("Collection", "Tasks")]
    [InlineData("Collection", "Tables")]
    [InlineData("Tables", "Collection")]
    [InlineData("Parameters", "Collection")]
    [InlineData("Parameters", "Executions")]
    [InlineData("Parameters", "Tables")]
    public void An_area_keeps_away_from_another(string area, string forbidden)
    {
        var types = TypesUsing(area, forbidden);
        Assert.True(types.Count == 0, $"{area} must not use {forbidden}, but does in {string.Join(", ", types)}");
    }

    [Fact]
    public void The_rules_see_the_areas_they_are_about()
    {
        // A namespace renamed away would make the rules above pass for nothing.
        Assert.Superset(new HashSet<string>(["Auth", "Collection", "Common", "Executions", "Interfaces", "Parameters", "Scripts", "Tables", "Tasks", "Users"]), Areas.ToHashSet());
        // Namespaces are matched by prefix, so an area named like the start of another would be confused with it.
        Assert.Empty(Areas.SelectMany(a => Areas.Where(b => b != a && b.StartsWith(a, StringComparison.Ordinal)).Select(b => a + "/" + b)));
    }

    /// <summary>The top-level types of <paramref name="area"/> (lambdas and state machines count for the type they
    /// are written in) that use a type of <paramref name="other"/>.</summary>
    internal static IReadOnlyList<string> TypesUsing(string area, string other)
    {
        var result = FeatureTypes.That().ResideInNamespace($"{Root}.{area}")
            // Matched by prefix too (a trailing dot matches nothing): no area's name starts another's, checked below.
            .ShouldNot().HaveDependencyOn($"{Root}.{other}")
            .GetResult();
        if (result.IsSuccessful) return [];
        return result.FailingTypes
            // ResideInNamespace matches by prefix: keep the area itself and its sub-namespaces only.
            .Where(t => t.Namespace == $"{Root}.{area}" || t.Namespace!.StartsWith($"{Root}.{area}.", StringComparison.Ordinal))
            .Select(Outermost)
            .Select(t => t.FullName![(Root.Length + 1)..])
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private static Type Outermost(Type type)
    {
        while (type.DeclaringType is { } outer) type = outer;
        return type;
    }
}

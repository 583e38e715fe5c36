using System.Text.RegularExpressions;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Interfaces;
using AkshareWeb.Features.Parameters;
using AkshareWeb.Features.Warehouse;

namespace AkshareWeb.Features.Scripts;

/// <summary>
/// Checks a parsed data script against the bundled snapshot of AKShare's registry, by the rules of
/// data-scripts/README.md ("Keys that keep every row"): the function exists and takes every parameter the script
/// passes; every key column is a column the rows will have; every parameter whose value changes what a row means
/// reaches the key, so a run with another value never overwrites rows that mean something else; defaults parse.
/// Pure: no database, no files; tools/AkshareWeb.ScriptLint prints what it finds for the whole folder.
/// </summary>
public static class DataScriptLinter
{
    public const string KeyRole = "key";
    public const string RangeRole = "range";

    /// <summary>Parameters that always change what a row means: another period or adjustment is another series.</summary>
    private static readonly string[] AlwaysKey = ["period", "adjust"];

    public static IReadOnlyList<string> Lint(DataScriptDefinition script, RegistrySnapshot snapshot)
    {
        var problems = new List<string>();
        var function = snapshot.Find(script.Interface);
        if (function is null) problems.Add($"interface {script.Interface} is not in AKShare {snapshot.AkshareVersion}");

        if (function is not null)
        {
            foreach (var p in script.Parameters.Where(p => function.Params.All(f => f.Name != p.Name)))
            {
                var known = function.Params.Count == 0 ? "it takes none" : "it takes " + string.Join(", ", function.Params.Select(f => f.Name));
                problems.Add($"parameter {p.Name} is not a parameter of {script.Interface} ({known})");
            }
        }

        if (script.OutputColumns is not null && string.IsNullOrWhiteSpace(script.OutputColumnsNote))
        {
            problems.Add("output_columns needs output_columns_note: why the registry's columns are not the function's");
        }

        var outputs = OutputColumns(script, function);
        foreach (var key in script.KeyColumns.Where(k => !script.ExtraColumns.ContainsKey(k) && !outputs.Contains(k)))
        {
            problems.Add(outputs.Count == 0
                ? $"key column {key} is no extra column, and AKShare's registry lists no output columns for {script.Interface}: give output_columns (with output_columns_note)"
                : $"key column {key} is neither an output column of {script.Interface} nor an extra column");
        }

        foreach (var p in script.Parameters)
        {
            var role = p.Role ?? KeyRole;
            if (role is not (KeyRole or RangeRole))
            {
                problems.Add($"parameter {p.Name}: role must be key or range, not {role}");
                continue;
            }

            if (AlwaysKey.Contains(p.Name) && role != KeyRole)
            {
                problems.Add($"parameter {p.Name} must have role key: another {p.Name} makes rows that mean something else");
            }

            if (p.Column is not null && outputs.Count > 0 && !outputs.Contains(p.Column))
            {
                problems.Add($"parameter {p.Name}: column {p.Column} is not an output column of {script.Interface}");
            }

            // A parameter held to one allowed value never makes another series: it needs no key column to tell them apart.
            if (role == KeyRole && p.Allowed is not { Count: 1 } && KeyReachProblem(script, p) is { } reach) problems.Add(reach);

            if (p.Type == "date" && p.DefaultValue is not null && !DataScriptFiles.DateDefaultParses(p.DefaultValue, p.Format ?? "yyyyMMdd"))
            {
                problems.Add($"parameter {p.Name}: default {p.DefaultValue} is neither a relative date nor a date in {p.Format ?? "yyyyMMdd"}");
            }

            if (p.Allowed is { Count: > 0 } allowed && p.DefaultValue is not null && !allowed.Contains(p.DefaultValue))
            {
                problems.Add($"parameter {p.Name}: default \"{p.DefaultValue}\" is not one of allowed");
            }
        }

        if (script.Adjustment is { } adjustment)
        {
            var columns = script.ExtraColumns.Keys.Concat(outputs).ToHashSet(StringComparer.Ordinal);
            foreach (var column in adjustment.PriceColumns.Append(adjustment.DateColumn).Concat(adjustment.KeyColumns).Where(c => !columns.Contains(c)))
            {
                problems.Add($"adjustment: {column} is neither an output column of {script.Interface} nor an extra column");
            }

            foreach (var key in adjustment.KeyColumns.Where(k => !script.KeyColumns.Contains(k)))
            {
                problems.Add($"adjustment: key column {key} is not in key_columns, so one row's factor could be another series'");
            }
        }

        return problems;
    }

    /// <summary>
    /// The columns the rows will have before extra columns: the script's output_columns, else the registry's, with
    /// dated columns renamed as the engine stores them (the date column, the name, and the previous day's name).
    /// </summary>
    public static HashSet<string> OutputColumns(DataScriptDefinition script, SnapshotInterface? function)
    {
        var names = script.OutputColumns?.Select(o => o.Name) ?? function?.Outputs.Select(o => o.Name) ?? [];
        var columns = new HashSet<string>(StringComparer.Ordinal);
        var dated = script.DatedColumns is { } d ? new Regex(d.Pattern, RegexOptions.None, TimeSpan.FromSeconds(1)) : null;
        foreach (var name in names)
        {
            var m = dated?.Match(name);
            if (m is { Success: true } && m.Groups.Count >= 3)
            {
                columns.Add(script.DatedColumns!.DateColumn);
                columns.Add(m.Groups[2].Value);
                columns.Add(script.DatedColumns.PreviousPrefix + m.Groups[2].Value);
            }
            else
            {
                columns.Add(name);
            }
        }

        return columns;
    }

    private static string? KeyReachProblem(DataScriptDefinition script, ParameterDefinition p)
    {
        var placeholder = "{" + p.Name + "}";
        var carriers = script.ExtraColumns.Where(e => e.Value.Contains(placeholder, StringComparison.Ordinal)).Select(e => e.Key).ToList();
        switch (script.WriteMode)
        {
            case WriteModes.Replace:
                return $"parameter {p.Name} has role key, which a replace script cannot have (a run with another {p.Name} would replace the rows of this one): make it range, or write with upsert";
            case WriteModes.Upsert:
                if (carriers.Any(script.KeyColumns.Contains) || (p.Column is not null && script.KeyColumns.Contains(p.Column))) return null;
                return carriers.Count > 0 || p.Column is not null
                    ? $"parameter {p.Name} has role key, but the column carrying it ({string.Join(", ", p.Column is null ? carriers : carriers.Append(p.Column))}) is not in key_columns"
                    : $"parameter {p.Name} has role key, but its value reaches no key column: add an extra column \"{p.Name}\": \"{{{p.Name}}}\" to key_columns, or name its output column in \"column\" (or make it range if it only narrows the rows)";
            default:
                return carriers.Count > 0 || p.Column is not null ? null
                    : $"parameter {p.Name} has role key, but its value is in no row: add an extra column \"{p.Name}\": \"{{{p.Name}}}\", or name its output column in \"column\" (or make it range if it only narrows the rows)";
        }
    }
}

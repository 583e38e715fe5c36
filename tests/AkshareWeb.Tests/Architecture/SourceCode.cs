using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace AkshareWeb.Tests.Architecture;

/// <summary>
/// The service's source files as the rules about them read them: parsed with Roslyn (syntax only, no build), so a
/// rule sees declarations and string literals, not text that happens to look like them in a comment.
/// </summary>
internal static class SourceCode
{
    /// <summary>The projects whose code the rules cover, relative to the repository root.</summary>
    public static readonly string[] Projects = ["src/AkshareWeb.Features", "src/AkshareWeb.Api", "src/AkshareWeb.Hangfire.MySql"];

    private static readonly Lazy<IReadOnlyList<SourceFile>> All = new(() => Projects.SelectMany(Read).ToList());

    public static IReadOnlyList<SourceFile> Files => All.Value;

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AkshareWeb.sln"))) return dir.FullName;
        }

        throw new InvalidOperationException("AkshareWeb.sln not found above " + AppContext.BaseDirectory);
    }

    private static IEnumerable<SourceFile> Read(string project)
    {
        var root = Path.Combine(RepositoryRoot(), project);
        if (!Directory.Exists(root)) throw new InvalidOperationException($"{root} does not exist");
        foreach (var path in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var inProject = Path.GetRelativePath(root, path);
            var first = inProject.Split(Path.DirectorySeparatorChar)[0];
            if (first is "bin" or "obj") continue;
            var text = File.ReadAllText(path);
            // The area of a feature file is its first folder; the other projects are one area each.
            var area = project.EndsWith(".Features", StringComparison.Ordinal) && inProject.Contains(Path.DirectorySeparatorChar)
                ? first
                : Path.GetFileName(project);
            yield return new SourceFile(Path.GetRelativePath(RepositoryRoot(), path).Replace('\\', '/'), area, text, CSharpSyntaxTree.ParseText(text, path: path));
        }
    }
}

/// <summary>One source file: its path from the repository root, its area and its syntax.</summary>
internal sealed record SourceFile(string Path, string Area, string Text, SyntaxTree Tree)
{
    public int Lines => Tree.GetText().Lines.Count - (Text.EndsWith('\n') ? 1 : 0);

    /// <summary>The types declared at namespace level (not nested), with the lines each spans, doc comments included.</summary>
    public IEnumerable<(string Name, int Lines)> TopLevelTypes() =>
        Tree.GetRoot().DescendantNodes(n => n is CompilationUnitSyntax or BaseNamespaceDeclarationSyntax)
            .OfType<MemberDeclarationSyntax>()
            .Where(m => m is BaseTypeDeclarationSyntax or DelegateDeclarationSyntax)
            .Select(m =>
            {
                var span = Tree.GetLineSpan(m.FullSpan);
                var name = m switch
                {
                    BaseTypeDeclarationSyntax t => t.Identifier.Text,
                    DelegateDeclarationSyntax d => d.Identifier.Text,
                    _ => "?",
                };
                var ns = m.Ancestors().OfType<BaseNamespaceDeclarationSyntax>().FirstOrDefault()?.Name.ToString() ?? "";
                var start = span.StartLinePosition.Line;
                // Leading trivia starts right after the previous member's last line; blank lines before the
                // comment are not the type's.
                while (start < span.EndLinePosition.Line && string.IsNullOrWhiteSpace(Tree.GetText().Lines[start].ToString())) start++;
                return ($"{ns}.{name}", span.EndLinePosition.Line - start + 1);
            });

    /// <summary>Every string literal's text, the text parts of interpolated and raw strings included.</summary>
    public IEnumerable<(string Text, int Line)> StringLiterals() =>
        Tree.GetRoot().DescendantTokens()
            .Where(t => t.Kind() is SyntaxKind.StringLiteralToken or SyntaxKind.InterpolatedStringTextToken or SyntaxKind.SingleLineRawStringLiteralToken
                or SyntaxKind.MultiLineRawStringLiteralToken or SyntaxKind.Utf8StringLiteralToken)
            .Select(t => (t.ValueText, Tree.GetLineSpan(t.Span).StartLinePosition.Line + 1));
}

using System.Text.RegularExpressions;
using NJsonSchema.CodeGeneration.CSharp;
using NSwag;
using NSwag.CodeGeneration.CSharp;
using NSwag.CodeGeneration.OperationNameGenerators;

// Usage: AkshareWeb.Client.Generator <openapi.json> <output.cs>
if (args.Length != 2)
{
    await Console.Error.WriteLineAsync("usage: AkshareWeb.Client.Generator <openapi.json> <output.cs>");
    return 2;
}

var document = await OpenApiDocument.FromFileAsync(args[0]);
var settings = new CSharpClientGeneratorSettings
{
    ClassName = "AkshareWebClient",
    GenerateClientInterfaces = true,
    // Relative paths against HttpClient.BaseAddress: the caller's HttpClient says where the service is.
    UseBaseUrl = false,
    ExceptionClass = "AkshareWebException",
    // One client, methods named after the operation ids (LoginAsync, DownloadDataAsync, ExportTableAsync…).
    OperationNameGenerator = new SingleClientFromOperationIdOperationNameGenerator(),
    CSharpGeneratorSettings =
    {
        Namespace = "AkshareWeb.Client",
        JsonLibrary = CSharpJsonLibrary.SystemTextJson,
        GenerateNullableReferenceTypes = true,
        GenerateOptionalPropertiesAsNullable = true,
        ClassStyle = CSharpClassStyle.Poco,
        GenerateDataAnnotations = false,
    },
};

var code = new CSharpClientGenerator(document, settings).GenerateFile();
// NSwag marks enum values with EnumMember, which System.Text.Json's JsonStringEnumConverter ignores: it would send
// "Cron" where the service expects "cron". JsonStringEnumMemberName is the attribute it reads.
code = Regex.Replace(code, @"\[System\.Runtime\.Serialization\.EnumMember\(Value = @""(?<value>[^""]*)""\)\]",
    m => m.Value + $"[System.Text.Json.Serialization.JsonStringEnumMemberName(@\"{m.Groups["value"].Value}\")]");
// Written only when it changed, so an unchanged document does not recompile the client.
if (!File.Exists(args[1]) || await File.ReadAllTextAsync(args[1]) != code)
{
    Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(args[1]))!);
    await File.WriteAllTextAsync(args[1], code);
}

return 0;

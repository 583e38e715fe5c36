using Microsoft.AspNetCore.Http.Metadata;
using NSwag;
using NSwag.Generation.AspNetCore;
using NSwag.Generation.Processors;
using NSwag.Generation.Processors.Contexts;
using NSwag.Generation.Processors.Security;

namespace AkshareWeb.Api.Setup;

public static class OpenApi
{
    public const string DocumentPath = "/swagger/v1/swagger.json";

    public static IServiceCollection AddAkshareWebOpenApi(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        services.AddOpenApiDocument((settings, provider) =>
        {
            settings.DocumentName = "v1";
            settings.Title = "AkshareWeb API";
            settings.Version = "v1";
            settings.Description = "Collect AKShare data into MySQL on schedules, browse and export it. " +
                "Every answer is the envelope {code, message, data}; errors are {code, message, detail}.";
            settings.AddSecurity("Bearer", new OpenApiSecurityScheme
            {
                Type = OpenApiSecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "JWT",
                Description = "The access_token from /api/auth/login or /api/auth/register.",
            });
            settings.OperationProcessors.Add(new AspNetCoreOperationSecurityScopeProcessor("Bearer"));
            settings.OperationProcessors.Add(new EndpointTexts());
            settings.SchemaSettings.SchemaNameGenerator = new OpenApiSchemaNames();
            var shape = new OpenApiShape(provider);
            settings.SchemaSettings.SchemaProcessors.Add(shape.Recorder);
            settings.DocumentProcessors.Add(shape);
        });
        return services;
    }

    /// <summary>
    /// The document and Swagger UI, unless <c>Swagger:Enabled</c> is false: an operator exposing the service may
    /// not want to publish its map; clients then use the committed openapi.json.
    /// </summary>
    public static WebApplication UseAkshareWebOpenApi(this WebApplication app)
    {
        if (!app.Configuration.GetValue("Swagger:Enabled", defaultValue: true))
        {
            return app;
        }

        app.UseOpenApi(o => o.Path = DocumentPath);
        app.UseSwaggerUi(o =>
        {
            o.Path = "/swagger";
            o.DocumentPath = DocumentPath;
        });
        return app;
    }

    /// <summary>
    /// NSwag reads summaries and descriptions from controllers' attributes only; a minimal API endpoint carries
    /// them as metadata (WithSummary, WithDescription), which would otherwise never reach the document or the
    /// clients generated from it.
    /// </summary>
    private sealed class EndpointTexts : IOperationProcessor
    {
        public bool Process(OperationProcessorContext context)
        {
            if (context is not AspNetCoreOperationProcessorContext { ApiDescription.ActionDescriptor.EndpointMetadata: { } metadata }) return true;
            var operation = context.OperationDescription.Operation;
            if (metadata.OfType<IEndpointSummaryMetadata>().LastOrDefault() is { } summary) operation.Summary = summary.Summary;
            if (metadata.OfType<IEndpointDescriptionMetadata>().LastOrDefault() is { } description) operation.Description = description.Description;
            return true;
        }
    }
}

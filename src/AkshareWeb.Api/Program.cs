using System.Text.Json;
using AkshareWeb.Api.Setup;
using AkshareWeb.Features.Calendar;
using AkshareWeb.Features.Collection;
using AkshareWeb.Features.Accounts;
using AkshareWeb.Features.Auth;
using AkshareWeb.Features.Data;
using AkshareWeb.Features.Executions;
using AkshareWeb.Features.Interfaces;
using AkshareWeb.Features.Notifications;
using AkshareWeb.Features.Scripts;
using AkshareWeb.Features.Tables;
using AkshareWeb.Features.Tasks;
using AkshareWeb.Features.Common;
using AkshareWeb.Features.Settings;
using AkshareWeb.Features.Users;
using Microsoft.Extensions.Options;
using FluentValidation;

var builder = WebApplication.CreateBuilder(args);
// AKSHAREWEB__Admin__Password and friends: the project's own prefix, beside the unprefixed ASP.NET names.
builder.Configuration.AddEnvironmentVariables("AKSHAREWEB__");
// A URL with raw UTF-8 in it (curl -g) gets a sentence in the envelope instead of Kestrel's empty 400.
builder.WebHost.UseRawTargetAnswers();

var services = builder.Services;
services.AddSingleton(TimeProvider.System);
services.AddSingleton<Database>();
services.AddSingleton<WarehouseDatabase>();
services.AddSingleton<SchemaMigrator>();
services.AddSingleton<UserAccounts>();
services.AddSingleton<FirstAdmin>();
services.Configure<AdminOptions>(builder.Configuration.GetSection(AdminOptions.Section));
services.AddSingleton<SystemSettings>();
services.AddSingleton<UserLock>();
services.AddSingleton<AdhocQuota>();
services.AddSingleton<TaskRunQuota>();
services.AddSingleton<TaskQuotas>();
services.Configure<QuotaOptions>(builder.Configuration.GetSection(QuotaOptions.Section));
services.AddSingleton<WarehouseConnection>();
services.AddHostedService<WarehouseConnectionWatcher>();

services.AddAkshareWebDataProtection(builder.Configuration);

services.AddMediator((Mediator.MediatorOptions options) =>
{
    options.ServiceLifetime = ServiceLifetime.Scoped;
    options.PipelineBehaviors = [typeof(ValidationBehavior<,>)];
});
services.AddValidatorsFromAssemblyContaining<Database>(ServiceLifetime.Singleton);
// Validation messages name fields as clients spell them (password_confirm), and stop at a field's first failure.
ValidatorOptions.Global.DisplayNameResolver = (_, member, _) => member is null ? null : JsonNamingPolicy.SnakeCaseLower.ConvertName(member.Name);
ValidatorOptions.Global.DefaultRuleLevelCascadeMode = CascadeMode.Stop;

services.ConfigureHttpJsonOptions(o =>
{
    o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
    o.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
});
services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);

services.AddAkshareWebProxies(builder.Configuration);
services.AddAkshareWebAuthentication(builder.Configuration);
services.AddAkshareWebRateLimits(builder.Configuration);
services.AddAkshareWebOpenApi();
services.AddAkshareWebHealth();
services.AddAkshareWebMetrics(builder.Configuration);
services.AddAkshareWebScheduling(builder.Configuration);
services.AddAkshareWebCollection(builder.Configuration);
services.AddWebConsole(builder.Configuration);
services.AddNotifications(builder.Configuration);

var app = builder.Build();

// Start-up work that must finish before the first request: schema, key ring, signing key, first admin.
await app.Services.GetRequiredService<SchemaMigrator>().MigrateAsync(app.Lifetime.ApplicationStopping);
await app.PrepareKeyRingAsync(app.Lifetime.ApplicationStopping);
await app.Services.GetRequiredService<JwtKeys>().LoadAsync(app.Lifetime.ApplicationStopping);
await app.Services.GetRequiredService<FirstAdmin>().EnsureAsync(app.Lifetime.ApplicationStopping);
await app.Services.GetRequiredService<CatalogStartup>().RunAsync(app.Lifetime.ApplicationStopping);
await app.Services.GetRequiredService<CalendarTask>().EnsureAsync(app.Lifetime.ApplicationStopping);

app.UseAkshareWebProxies();
app.UseConfiguredPathBase();
app.UseAkshareWebRequestMetrics();
app.UseErrorEnvelopes();
app.UseSecurityHeaders();
app.UseUtf8RequestBodies();
app.UseWebConsole();
app.UseRouting();
app.UseAuthentication();
app.UseRateLimiter();
app.UseAuthorization();
app.UseTextOnlyRequests();

app.UseAkshareWebOpenApi();
app.MapAkshareWebHealth();
app.MapAkshareWebMetrics();
app.MapAkshareWebDashboard();
app.MapAuthApi();
app.MapUsersApi();
app.MapSettingsApi();
app.MapInterfacesApi();
app.MapScriptsApi();
app.MapDataApi();
app.MapTasksApi();
app.MapExecutionsApi();
app.MapSitesApi();
app.MapTablesApi();
app.MapCalendarApi();
app.MapNotificationsApi();

await app.RunAsync();

/// <summary>The entry point, visible to the integration tests' WebApplicationFactory.</summary>
public partial class Program;

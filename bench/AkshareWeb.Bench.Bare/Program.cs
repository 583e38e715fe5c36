// The floor for bench/api-load.sh: ASP.NET Core with one minimal endpoint and nothing else (no database, no
// authentication, no middleware), on the same machine and runtime as the service.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();
app.MapGet("/", () => Results.Json(new { code = 0, message = "ok" }));
await app.RunAsync();

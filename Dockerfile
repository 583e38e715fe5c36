# AkshareWeb API image: build with the .NET 10 SDK, run on the ASP.NET 10 runtime as its non-root user.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/AkshareWeb.Api -c Release -o /app --nologo

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
COPY data-scripts /app/data-scripts
ENV ASPNETCORE_URLS=http://0.0.0.0:8000 \
    AKSHAREWEB__DataScripts__Path=/app/data-scripts
EXPOSE 8000
# The runtime image's unprivileged "app" user (APP_UID, 1654). The service writes nothing to its file system:
# data, Hangfire state, the JWT key and the Data Protection keys all live in MySQL, so /app stays root-owned and read-only to it.
USER $APP_UID
ENTRYPOINT ["dotnet", "AkshareWeb.Api.dll"]

# AkshareWeb API image: the web console built with Node, the service with the .NET 10 SDK, run on the ASP.NET 10 runtime
# as its non-root user.
FROM node:20-bookworm-slim AS console
WORKDIR /src
COPY console/package.json console/package-lock.json console/
RUN npm ci --prefix console --no-audit --no-fund
COPY clients/typescript/src clients/typescript/src
COPY console console
RUN npm --prefix console run build

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/AkshareWeb.Api -c Release -o /app --nologo

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
COPY data-scripts /app/data-scripts
COPY --from=console /src/console/dist /app/console
ENV ASPNETCORE_URLS=http://0.0.0.0:8000 \
    AKSHAREWEB__DataScripts__Path=/app/data-scripts \
    AKSHAREWEB__Console__Path=/app/console
EXPOSE 8000
# The runtime image's unprivileged "app" user (APP_UID, 1654). The service writes nothing to its file system:
# data, Hangfire state, the JWT key and the Data Protection keys all live in MySQL, so /app stays root-owned and read-only to it.
USER $APP_UID
ENTRYPOINT ["dotnet", "AkshareWeb.Api.dll"]

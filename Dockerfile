# AkshareWeb API image: build with the .NET 10 SDK, run on the ASP.NET 10 runtime.
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
ENTRYPOINT ["dotnet", "AkshareWeb.Api.dll"]

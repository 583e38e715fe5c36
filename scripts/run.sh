#!/usr/bin/env bash
# Starts AkshareWeb on http://localhost:8000 in the foreground. With no database configured
# (ConnectionStrings__AkshareWeb / AKSHAREWEB__ConnectionStrings__AkshareWeb), it starts a private MariaDB
# under .data/ first and stops it again when you press Ctrl-C.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

started_db=""
if [ -z "${ConnectionStrings__AkshareWeb:-}" ] && [ -z "${AKSHAREWEB__ConnectionStrings__AkshareWeb:-}" ]; then
  scripts/mariadb.sh status || started_db=1
  server="$(scripts/mariadb.sh start)"
  client=mariadb; command -v mariadb >/dev/null 2>&1 || client=mysql
  "$client" --no-defaults -uroot --socket="$root/.data/run/mariadb.sock" \
    -e "CREATE DATABASE IF NOT EXISTS akshareweb CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
  export ConnectionStrings__AkshareWeb="$server;Database=akshareweb"
fi

cleanup() {
  if [ -n "$started_db" ]; then scripts/mariadb.sh stop || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# AKShare's full registry (with its descriptions) when AKShare is installed for python3 and no registry is configured;
# without either the service imports the snapshot it bundles.
if [ -z "${Catalog__RegistryPath:-}" ] && [ -z "${AKSHAREWEB__Catalog__RegistryPath:-}" ] \
  && registry="$(python3 -c 'import akshare, os; print(os.path.join(os.path.dirname(akshare.__file__), "data", "interfaces.json"))' 2>/dev/null)" \
  && [ -f "$registry" ]; then
  export AKSHAREWEB__Catalog__RegistryPath="$registry"
  echo "[run] interface registry: $registry (the installed AKShare's)"
fi

export ASPNETCORE_URLS="${ASPNETCORE_URLS:-http://localhost:8000}"
export AKSHAREWEB__DataScripts__Path="${AKSHAREWEB__DataScripts__Path:-$root/data-scripts}"
# The web console (console/dist), rebuilt only when its sources changed; without npm the service runs without it.
scripts/console.sh build || echo "[run] the web console was not built; the API, Swagger UI and Hangfire work without it" >&2
dotnet build "$root/src/AkshareWeb.Api" -c Release -nologo -v q
echo "AkshareWeb on $ASPNETCORE_URLS  (console: $ASPNETCORE_URLS/, Swagger UI: $ASPNETCORE_URLS/swagger, Hangfire: $ASPNETCORE_URLS/hangfire)"
dotnet run --no-build -c Release --project "$root/src/AkshareWeb.Api" --no-launch-profile

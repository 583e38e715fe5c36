#!/usr/bin/env bash
# Regenerates openapi.json at the repository root from the running app (the test that compares it writes it), and
# the TypeScript client's types from it. The C# client (clients/csharp/AkshareWeb.Client) is generated from it on build.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
started_db=""
if [ -z "${AKSHAREWEB_TEST_MYSQL:-}" ]; then
  scripts/mariadb.sh status || started_db=1
  AKSHAREWEB_TEST_MYSQL="$(scripts/mariadb.sh start)"; export AKSHAREWEB_TEST_MYSQL
fi
trap '[ -n "$started_db" ] && scripts/mariadb.sh stop || true' EXIT
AKSHAREWEB_UPDATE_OPENAPI=1 dotnet test tests/AkshareWeb.Tests -c Release --nologo --filter "FullyQualifiedName~OpenApiDocumentTests"
[ -d clients/typescript/node_modules ] || npm ci --prefix clients/typescript --no-audit --no-fund --loglevel=error
npm --prefix clients/typescript run --silent generate

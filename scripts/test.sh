#!/usr/bin/env bash
# Runs every test of the solution against a real MariaDB, then checks that the committed openapi.json is
# the one the app generates, lints it, and checks that the TypeScript client was generated from it (the C# client
# is generated from it at build time; both clients' flows run against the service among the tests).
# Exits non-zero on any failure.
#   AKSHAREWEB_TEST_MYSQL   server connection string (no database); default: a private MariaDB under .data/,
#                           or Testcontainers.MySql when a Docker engine answers and no MariaDB can be had.
#   AKSHAREWEB_TEST_GALERA=1  (not set by CI) also runs the failover drill on a 3-node Galera cluster (scripts/test-galera.sh,
#                           5-8 minutes more; it needs root or an installed mariadb-server, galera-4 and rsync).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

started_db=""
if [ -z "${AKSHAREWEB_TEST_MYSQL:-}" ]; then
  # Only a server this script started is stopped at the end; one already running (another shell's) stays.
  scripts/mariadb.sh status || started_db=1
  if server="$(scripts/mariadb.sh start)"; then
    export AKSHAREWEB_TEST_MYSQL="$server"
  elif docker info >/dev/null 2>&1; then
    echo "[test] no MariaDB could be started; the tests will use Testcontainers.MySql" >&2
  else
    echo "[test] no database: install mariadb-server or set AKSHAREWEB_TEST_MYSQL" >&2
    exit 1
  fi
fi
cleanup() { if [ -n "$started_db" ]; then scripts/mariadb.sh stop || true; fi; }
trap cleanup EXIT

# Away from UTC on purpose, as is the database: time-zone slips show up here, not in production.
export TZ="${TZ_FOR_TESTS:-Asia/Kolkata}"

# The linter and the TypeScript client come from their lockfiles; the client's types are regenerated from the
# committed openapi.json (a difference is reported below) and compiled, so the Node flow the tests run is current.
npm_ci() { npm ci --prefix "$1" --no-audit --no-fund --loglevel=error; }
npm_ci tools/openapi-lint
npm_ci clients/typescript
npm --prefix clients/typescript run --silent generate
npm --prefix clients/typescript run --silent build

dotnet build AkshareWeb.sln -c Release -nologo -v q

# The data scripts against AKShare's registry (the bundled snapshot): every problem is printed here; the run goes
# on so the tests' results are seen too, and fails at the end.
lint_status=0
LINT_NO_BUILD=1 scripts/lint-scripts.sh || lint_status=$?
mkdir -p "$root/.data/test-results"
log="$root/.data/test-results/dotnet-test.log"
set +e
dotnet test AkshareWeb.sln -c Release --no-build --nologo \
  --logger "console;verbosity=normal" --results-directory "$root/.data/test-results" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# CI keeps only the tail of the output; a failure reported in the middle of it must not be lost, so every
# failed test is repeated here, with its message and the top of its stack.
if [ "$status" -ne 0 ]; then
  echo "[test] failed tests:" >&2
  awk '/^  Failed /{on=1; n=0} /^  (Passed|Skipped) |^\[xUnit|^Test Run/{on=0} on && n++ < 40' "$log" >&2
  # A 500 in a test names only a trace id; the service logged the exception behind it as an error.
  if grep -q '^fail: ' "$log"; then
    echo "[test] errors the service logged during the run:" >&2
    awk '/^fail: /{on=1; n=0; print; next} /^[a-z]+: |^  (Passed|Failed|Skipped) |^\[xUnit/{on=0} on && n++ < 25' "$log" | head -n 300 >&2 || true  # head closing the pipe early is not a failure of its own
  fi
fi

if ! git diff --quiet -- openapi.json 2>/dev/null || [ -n "$(git status --porcelain -- openapi.json 2>/dev/null)" ]; then
  echo "[test] openapi.json differs from what the app generates; the committed file is stale." >&2
  echo "[test] regenerate it with: scripts/openapi.sh, review and commit." >&2
  git --no-pager diff --stat -- openapi.json >&2 || true
  status=1
fi
if ! npm --prefix tools/openapi-lint run --silent lint; then
  echo "[test] openapi.json has lint errors (rules: tools/openapi-lint/redocly.yaml)." >&2
  status=1
fi

schema=clients/typescript/src/schema.d.ts
if ! git diff --quiet -- "$schema" 2>/dev/null || [ -n "$(git status --porcelain -- "$schema" 2>/dev/null)" ]; then
  echo "[test] $schema differs from what openapi-typescript generates from openapi.json; the TypeScript client is stale." >&2
  echo "[test] regenerate it with: scripts/openapi.sh, review and commit." >&2
  git --no-pager diff --stat -- "$schema" >&2 || true
  status=1
fi
if [ "${AKSHAREWEB_TEST_GALERA:-}" = "1" ]; then
  if ! GALERA_NO_BUILD=1 scripts/test-galera.sh; then
    echo "[test] the Galera failover drill failed (its log: .data/galera-drill/)." >&2
    status=1
  fi
fi
if [ "$lint_status" -ne 0 ]; then
  echo "[test] the data-script linter found problems (listed above, before the tests; scripts/lint-scripts.sh prints them alone)." >&2
  status=1
fi
exit $status

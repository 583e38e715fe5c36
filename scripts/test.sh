#!/usr/bin/env bash
# Runs every test of the solution against a real MariaDB, then checks that the committed openapi.json is
# the one the app generates, lints it, and checks that the TypeScript client was generated from it (the C# client
# is generated from it at build time; both clients' flows run against the service among the tests).
# Exits non-zero on any failure, and ends with one line for everything it ran: "N passed, N failed" (", N skipped"
# when some were).
#   AKSHAREWEB_TEST_MYSQL   server connection string (no database); default: a private MariaDB under .data/mariadb-test,
#                           or Testcontainers.MySql when a Docker engine answers and no MariaDB can be had.
#   AKSHAREWEB_TEST_GALERA=1  (set by .ci/run) also runs the failover drill on a 3-node Galera cluster (scripts/test-galera.sh,
#                           4-5 minutes more; it needs root or an installed mariadb-server, galera-4 and rsync).
# A suite added here puts its counts into that line with one call: `add_counts PASSED FAILED [SKIPPED]`, or
# `add_trx_counts DIR` for the TRX reports a runner wrote, or `add_check STATUS` for a check that is one test.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

passed=0 failed=0 skipped=0
add_counts() { passed=$((passed + ${1:-0})); failed=$((failed + ${2:-0})); skipped=$((skipped + ${3:-0})); }
add_check() { if [ "$1" -eq 0 ]; then add_counts 1 0; else add_counts 0 1; fi; }
# Each TRX report's <Counters>: errors, time-outs and aborted tests are failures, tests not executed are skipped.
add_trx_counts() {
  local file counters
  for file in "$1"/*.trx; do
    [ -e "$file" ] || continue
    counters="$(grep -o '<Counters [^>]*>' "$file" | head -n 1)"
    add_counts "$(trx_count "$counters" passed)" \
      "$(( $(trx_count "$counters" failed) + $(trx_count "$counters" error) + $(trx_count "$counters" timeout) + $(trx_count "$counters" aborted) ))" \
      "$(trx_count "$counters" notExecuted)"
  done
}
trx_count() { local n; n="$(sed -n "s/.* $2=\"\([0-9]*\)\".*/\1/p" <<<"$1")"; echo "${n:-0}"; }
summary() {
  local line="$passed passed, $failed failed"
  if [ "$skipped" -gt 0 ]; then line+=", $skipped skipped"; fi
  echo "$line"
}

started_db=""
# The summary is the last line whatever happens; a step that stopped the script before any test failed counts as one.
finish() {
  local status=$?
  if [ -n "${build_pid:-}" ]; then kill "$build_pid" 2>/dev/null || true; fi
  if [ -n "$started_db" ]; then scripts/mariadb.sh stop test || true; fi
  if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then add_counts 0 1; fi
  summary
  exit "$status"
}
trap finish EXIT
# Where a run's time goes, for whoever makes the suite faster: seconds since the start at each step's end.
stamp() { echo "[test] $1 after ${SECONDS}s" >&2; }

if [ -z "${AKSHAREWEB_TEST_MYSQL:-}" ]; then
  # The test server (mariadb.sh's "test": apart from the service's own, made for speed, not crash safety). Only a
  # server this script started is stopped at the end; one already running (another shell's) stays.
  scripts/mariadb.sh status test || started_db=1
  if server="$(scripts/mariadb.sh start test)"; then
    export AKSHAREWEB_TEST_MYSQL="$server"
  elif docker info >/dev/null 2>&1; then
    echo "[test] no MariaDB could be started; the tests will use Testcontainers.MySql" >&2
  else
    echo "[test] no database: install mariadb-server or set AKSHAREWEB_TEST_MYSQL" >&2
    exit 1
  fi
fi

stamp "database up"

# The README's commands run as a test (tests/AkshareWeb.Tests/Host/ReadmeCommandTests.cs) the way a reader runs them,
# through curl and python3: installed here when missing and this runs as root, as mariadb.sh installs MariaDB; otherwise
# that test fails saying what to install.
missing_tools=""
for tool in curl python3; do command -v "$tool" >/dev/null 2>&1 || missing_tools+=" $tool"; done
if [ -n "$missing_tools" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "[test] installing Debian's$missing_tools (the README's commands run through them)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    # shellcheck disable=SC2086 # one word per package
    apt-get install -y -qq $missing_tools >&2
  else
    echo "[test] missing:$missing_tools; ReadmeCommandTests will fail. Install with: sudo apt-get install$missing_tools" >&2
  fi
fi

# Away from UTC on purpose, as is the database: time-zone slips show up here, not in production.
export TZ="${TZ_FOR_TESTS:-Asia/Kolkata}"

# The .NET build needs nothing from npm: it runs beside the npm steps below (on two cores that is about a minute of
# the suite's length), its output kept until it is waited for.
mkdir -p "$root/.data/test-results"
build_log="$root/.data/test-results/dotnet-build.log"
dotnet build AkshareWeb.sln -c Release -nologo -v q >"$build_log" 2>&1 &
build_pid=$!

# The linter and the TypeScript client come from their lockfiles; the client's types are regenerated from the
# committed openapi.json (a difference is reported below) and compiled, so the Node flow the tests run is current.
npm_ci() { npm ci --prefix "$1" --no-audit --no-fund --loglevel=error; }
npm_ci tools/openapi-lint
npm_ci tools/trading-calendar
npm_ci clients/typescript
npm --prefix clients/typescript run --silent generate
npm --prefix clients/typescript run --silent build

# The web console: type-checked against the client just generated (an API change that breaks a call fails here), built
# into console/dist (the service serves it; the browser tests among the .NET tests open it in Chromium), and its unit
# tests (vitest), whose counts are printed as one line.
scripts/console.sh browser || echo "[test] without chromium the console's browser tests fail" >&2
console_build_status=0
CONSOLE_TYPECHECK=1 scripts/console.sh build || console_build_status=$?
add_check "$console_build_status"
mkdir -p "$root/.data/test-results"
rm -f "$root/.data/test-results/console-unit.json"
console_unit_status=0
(cd console && npx --no-install vitest run --reporter=dot --reporter=json --outputFile.json="$root/.data/test-results/console-unit.json") || console_unit_status=$?
if unit_counts="$(node -e 'const r = require(process.argv[1]); console.log(`${r.numPassedTests} ${r.numFailedTests}`)' "$root/.data/test-results/console-unit.json")"; then
  read -r unit_passed unit_failed <<<"$unit_counts"
  echo "console unit tests (vitest): $unit_passed passed, $unit_failed failed"
  add_counts "$unit_passed" "$unit_failed"
  # vitest failing without a failed test (a file that does not load) is one failure.
  if [ "$console_unit_status" -ne 0 ] && [ "$unit_failed" -eq 0 ]; then add_counts 0 1; fi
else
  console_unit_status=1
  add_check 1
fi

stamp "TypeScript client, console build and unit tests"

# The checks that need no build run while it goes on (after the tests they would lengthen the run's idle tail).
check=0
if ! npm --prefix tools/openapi-lint run --silent lint; then
  echo "[test] openapi.json has lint errors (rules: tools/openapi-lint/redocly.yaml)." >&2
  check=1
fi
add_check $check

# The bundled trading calendar is what tools/trading-calendar derives from its pinned sources, nothing edited by hand.
check=0
if ! node tools/trading-calendar/derive.mjs --check; then
  check=1
fi
add_check $check

build_status=0
wait "$build_pid" || build_status=$?
stamp ".NET build"
cat "$build_log"
if [ "$build_status" -ne 0 ]; then
  echo "[test] dotnet build failed (above)." >&2
  exit "$build_status"
fi

# The data scripts against AKShare's registry (the bundled snapshot): every problem is printed here; the run goes
# on so the tests' results are seen too, and fails at the end.
lint_status=0
LINT_NO_BUILD=1 scripts/lint-scripts.sh || lint_status=$?
add_check "$lint_status"
results="$root/.data/test-results"
mkdir -p "$results"
rm -f "$results"/*.trx
log="$results/dotnet-test.log"
set +e
# Tests wait for the events they need, not for a time; a test still running after 15 minutes is hung, and is
# reported as such (its test host stopped) instead of holding the run forever.
# -m:4 runs the four test assemblies at once: with two at a time (one per core) the browser tests started only after
# the storage's, and ran alone at the end with a core idle.
dotnet test AkshareWeb.sln -c Release --no-build --nologo -m:4 --blame-hang-timeout 15m --blame-hang-dump-type none \
  --logger "console;verbosity=normal" --logger trx --results-directory "$results" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
stamp ".NET and browser tests"
set -e
# Every test assembly (the service's, the Hangfire storage's, the clients' flows, C# and TypeScript) wrote a report.
counted=$failed
add_trx_counts "$results"
if [ "$status" -ne 0 ] && [ "$failed" -eq "$counted" ]; then
  echo "[test] dotnet test failed without a failed test in its reports (a test host that crashed?); see $log" >&2
  add_counts 0 1
fi

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

check=0
if ! git diff --quiet -- openapi.json 2>/dev/null || [ -n "$(git status --porcelain -- openapi.json 2>/dev/null)" ]; then
  echo "[test] openapi.json differs from what the app generates; the committed file is stale." >&2
  echo "[test] regenerate it with: scripts/openapi.sh, review and commit." >&2
  git --no-pager diff --stat -- openapi.json >&2 || true
  check=1
fi
add_check $check

check=0
schema=clients/typescript/src/schema.d.ts
if ! git diff --quiet -- "$schema" 2>/dev/null || [ -n "$(git status --porcelain -- "$schema" 2>/dev/null)" ]; then
  echo "[test] $schema differs from what openapi-typescript generates from openapi.json; the TypeScript client is stale." >&2
  echo "[test] regenerate it with: scripts/openapi.sh, review and commit." >&2
  git --no-pager diff --stat -- "$schema" >&2 || true
  check=1
fi
add_check $check

if [ "$console_build_status" -ne 0 ]; then
  echo "[test] the web console does not type-check or build against the API's client (console/; see the errors above)." >&2
fi
if [ "$console_unit_status" -ne 0 ]; then
  echo "[test] the console's unit tests failed (console/tests/unit; run: cd console && npx vitest run)." >&2
fi
if [ "${AKSHAREWEB_TEST_GALERA:-}" = "1" ]; then
  # A runner that lacks Galera and may not install it cannot have the cluster: the drill counts as skipped, and says
  # why (galera.sh names what is missing), instead of failing a run for a package it may not install.
  if ! scripts/galera.sh can-run; then
    echo "[test] the Galera failover drill is skipped: this runner cannot have the cluster (above)." >&2
    add_counts 0 0 1
  else
    check=0
    if ! GALERA_NO_BUILD=1 scripts/test-galera.sh; then
      echo "[test] the Galera failover drill failed (its log: .data/galera-drill/)." >&2
      check=1
    fi
    add_check $check
  fi
fi

if [ "$lint_status" -ne 0 ]; then
  echo "[test] the data-script linter found problems (listed above, before the tests; scripts/lint-scripts.sh prints them alone)." >&2
fi
if [ "$failed" -gt 0 ]; then status=1; fi
exit $status

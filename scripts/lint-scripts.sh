#!/usr/bin/env bash
# Checks every data script against the bundled snapshot of AKShare's registry and prints each problem as
# "<file>: <problem>", then a summary. Exits 1 when there is any problem.
#   scripts/lint-scripts.sh [data-scripts folder]      (default: data-scripts/ of this repository)
#   LINT_NO_BUILD=1   use the Release build already made (scripts/test.sh builds first)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
folder="${1:-$root/data-scripts}"
if [ -z "${LINT_NO_BUILD:-}" ]; then
  dotnet build "$root/tools/AkshareWeb.ScriptLint" -c Release -nologo -v q >/dev/null
fi
exec dotnet run --no-build -c Release --project "$root/tools/AkshareWeb.ScriptLint" -- "$folder"

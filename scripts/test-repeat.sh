#!/usr/bin/env bash
# Runs the whole suite N times, each time in a fresh clone, as CI does: evidence that it is green on this machine, not
# a lucky run. For each run: a clone of the commit this repository's HEAD named when the series began (committed
# work only) in a temporary folder, the shared documents beside it as ../shared, then scripts/test.sh in it; one
# line per run with its verdict, its duration, the load average before and after, and test.sh's summary line; at
# the end "K of N green".
#
#   scripts/test-repeat.sh [--stress[=WORKERS]] [--shared DIR] [--keep] N
#     --stress     a CPU-heavy neighbour for the length of each run: stress-ng --cpu WORKERS (Debian's stress-ng) when
#                  it is installed, else WORKERS busy loops; WORKERS defaults to the number of cores
#     --shared     the folder copied beside each clone as ../shared (default: ../shared beside this checkout, or
#                  /work/shared)
#     --keep       keep each run's clone (they are large: node_modules, build output, a MariaDB)
# Each run's full output is kept in the log folder printed at the start. Exits 0 only when every run was green.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

stress="" shared="" keep="" runs=""
while [ $# -gt 0 ]; do
  case "$1" in
    --stress) stress="$(nproc)" ;;
    --stress=*) stress="${1#--stress=}" ;;
    --shared) shared="$2"; shift ;;
    --shared=*) shared="${1#--shared=}" ;;
    --keep) keep=1 ;;
    -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) runs="$1" ;;
  esac
  shift
done
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/test-repeat.sh [--stress[=WORKERS]] [--shared DIR] [--keep] N" >&2
  exit 2
fi
if [ -n "$stress" ] && ! [[ "$stress" =~ ^[1-9][0-9]*$ ]]; then
  echo "--stress takes a number of workers" >&2
  exit 2
fi
if [ -z "$shared" ]; then
  for candidate in "$root/../shared" /work/shared; do
    if [ -d "$candidate" ]; then shared="$(cd "$candidate" && pwd)"; break; fi
  done
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/akshareweb-repeat.XXXXXX")"
logs="$work/logs"
mkdir -p "$logs"
# Every run tests this commit, even when the checkout moves on while the series runs.
full_commit="$(git -C "$root" rev-parse HEAD)"
commit="$(git -C "$root" rev-parse --short HEAD)"
echo "[repeat] $runs run(s) of scripts/test.sh on fresh clones of $commit${stress:+, beside $stress CPU-heavy worker(s)}; logs in $logs"
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no)" ]; then
  echo "[repeat] note: uncommitted changes in $root are not in the clones"
fi
if [ -z "$shared" ]; then echo "[repeat] note: no shared folder found; the clones have no ../shared"; fi

neighbour=()
stop_neighbour() {
  local pid
  for pid in "${neighbour[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${neighbour[@]}"; do wait "$pid" 2>/dev/null || true; done
  neighbour=()
}
start_neighbour() {
  local i
  if command -v stress-ng >/dev/null 2>&1; then
    stress-ng --cpu "$stress" --quiet >/dev/null 2>&1 &
    neighbour+=("$!")
  else
    for ((i = 0; i < stress; i++)); do
      ( while :; do :; done ) &
      neighbour+=("$!")
    done
  fi
}
trap stop_neighbour EXIT

load() { cut -d' ' -f1-3 /proc/loadavg; }

green=0
for ((run = 1; run <= runs; run++)); do
  dir="$work/run-$run"
  mkdir -p "$dir"
  git clone --quiet --no-hardlinks "$root" "$dir/repo"
  git -C "$dir/repo" checkout --quiet --detach "$full_commit"
  if [ -n "$shared" ]; then cp -r "$shared" "$dir/shared"; fi
  log="$logs/run-$run.log"
  before="$(load)"
  if [ -n "$stress" ]; then start_neighbour; fi
  started=$SECONDS
  set +e
  (cd "$dir/repo" && bash scripts/test.sh) >"$log" 2>&1
  status=$?
  set -e
  seconds=$((SECONDS - started))
  if [ -n "$stress" ]; then stop_neighbour; fi
  after="$(load)"
  summary="$(tail -n 1 "$log")"
  if [ "$status" -eq 0 ]; then verdict="green"; green=$((green + 1)); else verdict="FAILED (exit $status)"; fi
  printf '[repeat] run %d: %s in %dm%02ds, load %s before, %s after: %s\n' \
    "$run" "$verdict" $((seconds / 60)) $((seconds % 60)) "$before" "$after" "$summary"
  if [ -z "$keep" ]; then
    # The clone's own MariaDB is stopped by test.sh; its files go with the clone.
    rm -rf "$dir"
  fi
done

echo "$green of $runs green"
[ "$green" -eq "$runs" ]

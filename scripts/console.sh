#!/usr/bin/env bash
# The web console's build steps, shared by run.sh, test.sh and the benchmarks.
#   scripts/console.sh build     install console/'s npm packages when its lockfile changed, and build console/dist when
#                                its sources (or the TypeScript client's) changed since the last build (a hash kept in
#                                console/dist/.sources); CONSOLE_TYPECHECK=1 type-checks first (vue-tsc), as test.sh does
#   scripts/console.sh browser   make sure Debian's chromium (and a Chinese font) is there for the browser tests,
#                                installing them with apt-get when running as root
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

hash_of() { find "$@" -type f ! -path '*/node_modules/*' ! -path '*/dist/*' -print0 2>/dev/null | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1; }

build() {
  if ! command -v npm >/dev/null 2>&1; then
    echo "[console] npm is not installed: the web console cannot be built (Node.js 20+ with npm; Debian: apt-get install nodejs npm)" >&2
    return 1
  fi
  local lock
  lock="$(sha256sum console/package-lock.json | cut -d' ' -f1)"
  if [ ! -f console/node_modules/.lock-hash ] || [ "$(cat console/node_modules/.lock-hash)" != "$lock" ]; then
    echo "[console] installing its npm packages (package-lock.json)" >&2
    npm ci --prefix console --no-audit --no-fund --loglevel=error >&2
    echo "$lock" > console/node_modules/.lock-hash
  fi
  local sources
  sources="$(hash_of console/src console/public console/index.html console/vite.config.ts console/tsconfig.json console/components.d.ts console/package-lock.json clients/typescript/src)"
  if [ "${CONSOLE_TYPECHECK:-}" = "1" ]; then
    npm --prefix console run --silent typecheck
  fi
  if [ -f console/dist/.sources ] && [ "$(cat console/dist/.sources)" = "$sources" ] && [ -f console/dist/index.html ]; then
    return 0
  fi
  echo "[console] building console/dist" >&2
  (cd console && npx --no-install vite build --logLevel warn) >&2
  echo "$sources" > console/dist/.sources
}

browser() {
  if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
      echo "[console] installing Debian's chromium for the console's browser tests" >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2 || { apt-get update -qq >&2; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2; }
    else
      echo "[console] chromium is not installed: apt-get install chromium (the console's browser tests need it)" >&2
      return 1
    fi
  fi
  # Without a Chinese font the screenshots of the Chinese views show boxes.
  if command -v fc-list >/dev/null 2>&1 && [ -z "$(fc-list :lang=zh 2>/dev/null)" ] && [ "$(id -u)" = "0" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >&2 || true
  fi
}

case "${1:-}" in
  build) build ;;
  browser) browser ;;
  *) echo "usage: scripts/console.sh build|browser" >&2; exit 2 ;;
esac

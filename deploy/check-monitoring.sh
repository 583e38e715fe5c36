#!/usr/bin/env bash
# Checks the monitoring files without Docker, with Debian's Prometheus (installed when missing and allowed):
#   1. promtool accepts deploy/prometheus/prometheus.yml (as the compose profile mounts it, token file included);
#   2. with a running AkshareWeb (default http://127.0.0.1:8000, or the first argument), a private Prometheus on
#      127.0.0.1:9099 scrapes it every 2 s, and every query of every panel of deploy/grafana/dashboards/akshareweb.json
#      is run against it: a query Prometheus refuses, or a scrape that fails, fails the check; the series each
#      query returns are listed, so an empty panel is seen before an operator sees it.
# The scrape goes to loopback, which /metrics serves without a token; AKSHAREWEB_METRICS_TOKEN is sent when set.
#   deploy/check-monitoring.sh [http://host:port]     (config only: deploy/check-monitoring.sh --config-only)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target="${1:-http://127.0.0.1:8000}"

if ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[monitoring] installing Debian's prometheus (for promtool and a private server)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q prometheus >/dev/null
  else
    echo "[monitoring] promtool is missing: apt-get install prometheus" >&2
    exit 1
  fi
fi

work="$(mktemp -d)"
prometheus_pid=""
cleanup() {
  if [ -n "$prometheus_pid" ]; then kill "$prometheus_pid" 2>/dev/null || true; wait "$prometheus_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# The compose file writes the token to /etc/prometheus/token before Prometheus starts; promtool wants it to exist.
printf '%s' "${AKSHAREWEB_METRICS_TOKEN:-token}" > "$work/token"
sed "s#/etc/prometheus/token#$work/token#" "$here/prometheus/prometheus.yml" > "$work/shipped.yml"
promtool check config "$work/shipped.yml"
[ "${1:-}" = "--config-only" ] && exit 0

address="${target#*://}"; address="${address%%/*}"
{
  echo "global: {scrape_interval: 2s, evaluation_interval: 2s}"
  echo "scrape_configs:"
  echo "  - job_name: akshareweb"
  echo "    metrics_path: /metrics"
  if [ -n "${AKSHAREWEB_METRICS_TOKEN:-}" ]; then
    echo "    authorization: {type: Bearer, credentials_file: $work/token}"
  fi
  echo "    static_configs: [{targets: [\"$address\"]}]"
} > "$work/live.yml"
promtool check config "$work/live.yml" >/dev/null

prometheus --config.file="$work/live.yml" --storage.tsdb.path="$work/data" --web.listen-address=127.0.0.1:9099 \
  --log.level=warn > "$work/prometheus.log" 2>&1 &
prometheus_pid=$!

python3 - "$here/grafana/dashboards/akshareweb.json" <<'PY'
import json, sys, time, urllib.parse, urllib.request

def query(expr):
    url = "http://127.0.0.1:9099/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as error:
        return json.load(error)

# Wait for Prometheus, then for two successful scrapes so that rate() and increase() have two points.
deadline = time.time() + 60
while True:
    try:
        result = query("up")
        samples = result.get("data", {}).get("result", [])
        if samples and samples[0]["value"][1] == "1":
            break
        if samples and time.time() > deadline:
            sys.exit("[monitoring] Prometheus cannot scrape AkshareWeb: see the target's lastError at http://127.0.0.1:9099/targets")
    except OSError:
        pass
    if time.time() > deadline:
        sys.exit("[monitoring] Prometheus did not start or never scraped")
    time.sleep(0.5)
time.sleep(5)

panels = json.load(open(sys.argv[1]))["panels"]
refused = 0
for panel in panels:
    for target in panel.get("targets", []):
        expr = target["expr"]
        result = query(expr)
        if result.get("status") != "success":
            refused += 1
            print(f"REFUSED  {panel['title']}: {expr}\n         {result.get('error')}")
            continue
        series = result["data"]["result"]
        shown = ", ".join(
            "{" + ",".join(f"{k}={v}" for k, v in s["metric"].items()) + "}=" + s["value"][1] for s in series[:4])
        print(f"{len(series):>3} series  {panel['title']}: {expr}\n            {shown}")
if refused:
    sys.exit(f"[monitoring] {refused} dashboard queries refused by Prometheus")
print("[monitoring] every dashboard query runs; panels with 0 series have had nothing to show yet")
PY

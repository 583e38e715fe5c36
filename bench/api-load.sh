#!/usr/bin/env bash
# API load benchmark: requests/s and p50/p99 latency with wrk at 4 and 16 connections for /health/live,
# /api/auth/me, /api/executions, /api/tables/{t}/data (a 20-row page of an 88-row table; the list also 20 of 88), beside a minimal ASP.NET
# endpoint (bench/AkshareWeb.Bench.Bare) started in the same run.
#   bench/api-load.sh [seconds per measurement, default 10]
# Uses the private MariaDB of scripts/mariadb.sh, a database of its own (dropped at the end), the service built
# in Release on 127.0.0.1:8124 and the bare endpoint on 127.0.0.1:8125. Installs Debian's wrk when missing (as root).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-10}"

if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "[bench] installing Debian's wrk" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2 || { apt-get update -qq >&2; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2; }
  else
    echo "wrk is not installed: sudo apt-get install wrk" >&2; exit 1
  fi
fi

server="$(scripts/mariadb.sh start)"
sock="$root/.data/run/mariadb.sock"
db="apibench_$RANDOM$RANDOM"
sql() { mariadb --no-defaults -uroot --socket="$sock" "$@"; }
sql -e "CREATE DATABASE $db CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
cleanup() {
  [ -n "${app:-}" ] && kill "$app" 2>/dev/null || true
  [ -n "${bare:-}" ] && kill "$bare" 2>/dev/null || true
  sql -e "DROP DATABASE IF EXISTS $db" || true
  rm -f /tmp/$db.*
}
trap cleanup EXIT

dotnet build src/AkshareWeb.Api -c Release -nologo -v q >/dev/null
dotnet build bench/AkshareWeb.Bench.Bare -c Release -nologo -v q >/dev/null

ConnectionStrings__AkshareWeb="$server;Database=$db" AKSHAREWEB__Admin__Password=bench-admin-pass \
AKSHAREWEB__RateLimits__AdminPerWindow=100000000 ASPNETCORE_URLS=http://127.0.0.1:8124 Logging__LogLevel__Default=Warning \
AKSHAREWEB__AkTools__BaseUrl=http://127.0.0.1:9 \
  dotnet src/AkshareWeb.Api/bin/Release/net10.0/AkshareWeb.Api.dll >>/tmp/$db.log 2>&1 &
app=$!
ASPNETCORE_URLS=http://127.0.0.1:8125 dotnet bench/AkshareWeb.Bench.Bare/bin/Release/net10.0/AkshareWeb.Bench.Bare.dll >/dev/null 2>&1 &
bare=$!
for _ in $(seq 1 120); do curl -fs http://127.0.0.1:8124/health/live >/dev/null 2>&1 && break; sleep 0.5; done
for _ in $(seq 1 60); do curl -fs http://127.0.0.1:8125/ >/dev/null 2>&1 && break; sleep 0.5; done

# 88 rows of the engine's daily-bars shape, registered as a managed table; and 88 executions for the list.
sql "$db" -e "
CREATE TABLE ak_bench_page (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, \`日期\` DATE NULL COMMENT '日期', \`股票代码\` VARCHAR(16) NULL COMMENT '股票代码',
  \`开盘\` DOUBLE NULL COMMENT '开盘', \`收盘\` DOUBLE NULL COMMENT '收盘', \`成交量\` BIGINT NULL COMMENT '成交量', _execution_id VARCHAR(40) NOT NULL,
  _collected_at DATETIME(6) NOT NULL, _row_hash BINARY(16) NOT NULL, UNIQUE KEY ux_natural_key (\`股票代码\`, \`日期\`), KEY ix_key_1 (\`日期\`))
  ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
INSERT INTO ak_bench_page (\`日期\`, \`股票代码\`, \`开盘\`, \`收盘\`, \`成交量\`, _execution_id, _collected_at, _row_hash)
SELECT DATE('2024-01-02') + INTERVAL seq DAY, '000001', 10 + seq / 100, 10.1 + seq / 100, 100000 + seq, 'exec_bench', UTC_TIMESTAMP(6), UNHEX(MD5(seq))
FROM seq_0_to_87;
INSERT INTO warehouse_tables (table_name, display_name, category, created_at, last_updated_at) VALUES ('ak_bench_page', '基准', 'stocks', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6));
INSERT INTO executions (execution_id, interface_name, parameters, target_table, write_mode, key_columns, extra_columns, status, triggered_by,
  retry_count, progress, created_at, start_time, end_time, rows_fetched, rows_affected, error_message)
SELECT CONCAT('exec_bench', seq), 'stock_zh_a_hist', '{\"symbol\": \"000001\"}', 'ak_bench_page', 'upsert', '[]', '{}', IF(seq % 5 = 0, 'failed', 'completed'), 'manual',
  0, 100, UTC_TIMESTAMP(6) - INTERVAL seq HOUR, UTC_TIMESTAMP(6) - INTERVAL seq HOUR, UTC_TIMESTAMP(6) - INTERVAL seq HOUR + INTERVAL 3 SECOND, 88, 88,
  IF(seq % 5 = 0, 'the upstream site behind stock_zh_a_hist failed', NULL)
FROM seq_0_to_87;" >/dev/null

token=$(curl -fs -X POST http://127.0.0.1:8124/api/auth/login -H 'Content-Type: application/json' \
  -d '{"username":"admin","password":"bench-admin-pass"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["access_token"])')
for path in /api/auth/me "/api/executions?page_size=20" /api/tables/ak_bench_page/data?page_size=20; do
  curl -fs -o /dev/null -H "Authorization: Bearer $token" "http://127.0.0.1:8124$path" || { echo "GET $path failed" >&2; exit 1; }
done

# One wrk run: "requests/s p50 p99" (latencies in ms).
measure() {
  local connections=$1 url=$2
  wrk -t2 -c"$connections" -d"${seconds}s" --latency -H "Authorization: Bearer $token" "$url" >/tmp/$db.wrk
  python3 - /tmp/$db.wrk <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def ms(v):
    n, unit = re.match(r"([\d.]+)(us|ms|s)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
p99 = ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(f"{rate:.0f} {p50:.2f} {p99:.2f}" + (f" ({errors.group(1)} non-2xx)" if errors else ""))
PY
}

echo "AkshareWeb API load: wrk, 2 threads, ${seconds} s per row, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-40s %5s %10s %9s %9s\n" endpoint conns "req/s" "p50 ms" "p99 ms"
declare -A rates
for connections in 4 16; do
  for entry in "bare ASP.NET endpoint|http://127.0.0.1:8125/" "/health/live|http://127.0.0.1:8124/health/live" \
               "/api/auth/me|http://127.0.0.1:8124/api/auth/me" "/api/executions (20 of 88)|http://127.0.0.1:8124/api/executions?page_size=20" \
               "/api/tables/{t}/data (20 of 88 rows)|http://127.0.0.1:8124/api/tables/ak_bench_page/data?page_size=20"; do
    name="${entry%%|*}"; url="${entry#*|}"
    result=$(measure "$connections" "$url")
    rates["$name@$connections"]="${result%% *}"
    printf "%-40s %5s %10s %9s %9s %s\n" "$name" "$connections" $result
  done
done
for connections in 4 16; do
  python3 -c "print(f'data page / executions list at $connections connections: {${rates["/api/tables/{t}/data (20 of 88 rows)@$connections"]}/${rates["/api/executions (20 of 88)@$connections"]}:.0%} (target: at least 80 %)')"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/env bash
# Web console speed, measured in Chromium with Playwright (console/bench/console-bench.mjs): the first view's time to
# interactive and the gzipped JavaScript loaded before it, the time a 50-row data page takes to draw after its answer,
# and a chart of 5,000 daily bars: its draw time and the frame times while it is panned.
#   bench/console.sh [repeats, default 15]
# Uses the private MariaDB of scripts/mariadb.sh, a database of its own (dropped at the end), the service built in
# Release on 127.0.0.1:8126 with the console built (scripts/console.sh), and Debian's chromium.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
repeats="${1:-15}"

scripts/console.sh browser
scripts/console.sh build
server="$(scripts/mariadb.sh start)"
sock="$root/.data/run/mariadb.sock"
db="consolebench_$RANDOM$RANDOM"
sql() { mariadb --no-defaults -uroot --socket="$sock" "$@"; }
sql -e "CREATE DATABASE $db CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
cleanup() {
  [ -n "${app:-}" ] && kill "$app" 2>/dev/null || true
  sql -e "DROP DATABASE IF EXISTS $db" || true
  rm -f /tmp/$db.*
}
trap cleanup EXIT

dotnet build src/AkshareWeb.Api -c Release -nologo -v q >/dev/null
ConnectionStrings__AkshareWeb="$server;Database=$db" AKSHAREWEB__Admin__Password=bench-admin-pass \
AKSHAREWEB__RateLimits__AdminPerWindow=100000000 ASPNETCORE_URLS=http://127.0.0.1:8126 Logging__LogLevel__Default=Warning \
AKSHAREWEB__AkTools__BaseUrl=http://127.0.0.1:9 \
  dotnet src/AkshareWeb.Api/bin/Release/net10.0/AkshareWeb.Api.dll >>/tmp/$db.log 2>&1 &
app=$!
for _ in $(seq 1 240); do curl -fs http://127.0.0.1:8126/health/live >/dev/null 2>&1 && break; sleep 0.5; done

# 5,000 daily bars of one symbol in the engine's table shape, registered as a managed table.
sql "$db" -e "
CREATE TABLE ak_bench_bars (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, \`日期\` DATE NULL COMMENT '日期', \`股票代码\` VARCHAR(16) NULL COMMENT '股票代码',
  \`开盘\` DOUBLE NULL COMMENT '开盘', \`收盘\` DOUBLE NULL COMMENT '收盘', \`最高\` DOUBLE NULL COMMENT '最高', \`最低\` DOUBLE NULL COMMENT '最低',
  \`成交量\` BIGINT NULL COMMENT '成交量', \`成交额\` DOUBLE NULL COMMENT '成交额', \`涨跌幅\` DOUBLE NULL COMMENT '涨跌幅',
  _execution_id VARCHAR(40) NOT NULL, _collected_at DATETIME(6) NOT NULL, _row_hash BINARY(16) NOT NULL,
  UNIQUE KEY ux_natural_key (\`股票代码\`, \`日期\`), KEY ix_key_1 (\`日期\`))
  ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
INSERT INTO ak_bench_bars (\`日期\`, \`股票代码\`, \`开盘\`, \`收盘\`, \`最高\`, \`最低\`, \`成交量\`, \`成交额\`, \`涨跌幅\`, _execution_id, _collected_at, _row_hash)
SELECT DATE('2006-01-02') + INTERVAL seq DAY, '000001', 10 + 3 * SIN(seq / 40) + (seq % 7) / 10, 10.1 + 3 * SIN(seq / 40) + (seq % 5) / 10,
  10.6 + 3 * SIN(seq / 40) + (seq % 7) / 10, 9.6 + 3 * SIN(seq / 40) + (seq % 5) / 10, 100000 + (seq * 7919) % 90000, 1.1e9, (CAST(seq % 21 AS SIGNED) - 10) / 10,
  'exec_bench', UTC_TIMESTAMP(6), UNHEX(MD5(seq))
FROM seq_0_to_4999;
INSERT INTO warehouse_tables (table_name, display_name, category, created_at, last_updated_at) VALUES ('ak_bench_bars', '基准日线', 'stocks', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6));" >/dev/null

echo "AkshareWeb console speed: Chromium $( /usr/bin/chromium --version 2>/dev/null | awk '{print $2}'), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
(cd console && AKSHAREWEB_URL=http://127.0.0.1:8126 AKSHAREWEB_ADMIN_PASSWORD=bench-admin-pass BENCH_TABLE=ak_bench_bars BENCH_REPEATS="$repeats" \
  node bench/console-bench.mjs)
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/env bash
# Tables benchmark on a 1,000,000-row daily-bars table: CSV, Parquet and XLSX export rates of the service beside
# `mariadb --batch`, the service's memory at rest before the exports and its peak (VmHWM) during each export, and
# pages at offset 500,000: cold (the first request of an order counts the rows and looks up page positions itself),
# then after the service has made the table ready (as it does at start and after every run of the engine), by page
# number and by cursor; last, by a column without an index, before and after the service has indexed it for sorting.
# The table has the engine's shape and indexes: the natural key (股票代码, 日期) unique, and 日期 on its own.
#   bench/tables-export.sh [rows] [exports|parquet]
# With `exports` as the second argument it stops after the exports (no pages); with `parquet` it makes the Parquet
# export alone, on a service that has made no other (its memory at two table sizes). Each export's peak is its own:
# the kernel's peak counter is reset before it (/proc/<pid>/clear_refs, 5); the peak since start is the largest of
# them and of the peak before the exports.
# Uses the private MariaDB of scripts/mariadb.sh (MariaDB's seq engine fills the table), a database of its own
# (dropped at the end) and the service built in Release, started on 127.0.0.1:8123.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
rows="${1:-1000000}"
only="${2:-}"
server="$(scripts/mariadb.sh start)"
sock="$root/.data/run/mariadb.sock"
db="tablebench_$RANDOM$RANDOM"
sql() { mariadb --no-defaults -uroot --socket="$sock" "$@"; }
sql -e "CREATE DATABASE $db CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
cleanup() { [ -n "${app:-}" ] && kill "$app" 2>/dev/null || true; sql -e "DROP DATABASE IF EXISTS $db" || true; rm -f /tmp/$db.*; }
trap cleanup EXIT

dotnet build src/AkshareWeb.Api -c Release -nologo -v q >/dev/null
start_app() {
  ConnectionStrings__AkshareWeb="$server;Database=$db" AKSHAREWEB__Admin__Password=bench-admin-pass \
  AKSHAREWEB__RateLimits__AdminPerWindow=100000 ASPNETCORE_URLS=http://127.0.0.1:8123 Logging__LogLevel__Default=Warning \
    env Logging__LogLevel__AkshareWeb.Features.Tables=Information dotnet src/AkshareWeb.Api/bin/Release/net10.0/AkshareWeb.Api.dll >>/tmp/$db.log 2>&1 &
  app=$!
  for _ in $(seq 1 120); do curl -fs http://127.0.0.1:8123/health/ready >/dev/null 2>&1 && break; sleep 0.5; done
}
login() {
  curl -fs -X POST http://127.0.0.1:8123/api/auth/login -H 'Content-Type: application/json' \
    -d '{"username":"admin","password":"bench-admin-pass"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["access_token"])'
}
start_app

sql "$db" -e "
CREATE TABLE ak_bench_bars (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, \`日期\` DATE NULL COMMENT '日期', \`股票代码\` VARCHAR(16) NULL COMMENT '股票代码',
  \`开盘\` DOUBLE NULL COMMENT '开盘', \`收盘\` DOUBLE NULL COMMENT '收盘', \`最高\` DOUBLE NULL COMMENT '最高', \`最低\` DOUBLE NULL COMMENT '最低',
  \`成交量\` BIGINT NULL COMMENT '成交量', \`成交额\` DOUBLE NULL COMMENT '成交额', \`振幅\` DOUBLE NULL COMMENT '振幅', \`涨跌幅\` DOUBLE NULL COMMENT '涨跌幅',
  \`涨跌额\` DOUBLE NULL COMMENT '涨跌额', \`换手率\` DOUBLE NULL COMMENT '换手率', _execution_id VARCHAR(40) NOT NULL, _collected_at DATETIME(6) NOT NULL,
  _row_hash BINARY(16) NOT NULL, UNIQUE KEY ux_natural_key (\`股票代码\`, \`日期\`), KEY ix_key_1 (\`日期\`))
  ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
INSERT INTO ak_bench_bars (\`日期\`, \`股票代码\`, \`开盘\`, \`收盘\`, \`最高\`, \`最低\`, \`成交量\`, \`成交额\`, \`振幅\`, \`涨跌幅\`, \`涨跌额\`, \`换手率\`, _execution_id, _collected_at, _row_hash)
SELECT DATE('2000-01-03') + INTERVAL (seq % 4000) DAY, LPAD(seq DIV 4000, 6, '0'), 10 + (seq % 1000) / 100 - 0.1, 10 + (seq % 1000) / 100, 10.2 + (seq % 1000) / 100,
  9.7 + (seq % 1000) / 100, 100000 + seq, 1e8 + seq, 2.51, -0.41, -0.05, 0.73, 'exec_bench', UTC_TIMESTAMP(6), UNHEX(MD5(seq))
FROM seq_0_to_$((rows - 1));
ANALYZE TABLE ak_bench_bars;
INSERT INTO warehouse_tables (table_name, display_name, category, created_at, last_updated_at) VALUES ('ak_bench_bars', '基准日线', 'stocks', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6));" >/dev/null

token=$(login)
auth=(-H "Authorization: Bearer $token")
mb() { awk -v k="$1:" '$1 == k {printf "%.0f", $2/1024}' /proc/$app/status; }
# The peak resident memory since the last reset, then reset: each export's own peak.
peak() { local p; p=$(mb VmHWM); echo 5 >/proc/$app/clear_refs; highest=$(( p > ${highest:-0} ? p : ${highest:-0} )); printf -v "$1" '%s MB' "$p"; }
rate() { python3 -c "print(f'{$rows/$1:,.0f} rows/s ({$1:.1f} s)')"; }
secs() { python3 -c "import time; print(time.time())"; }

rest_rss="$(mb VmRSS) MB"; peak rest_peak
if [ "$only" = parquet ]; then
  t0=$(secs); curl -fs "${auth[@]}" -o /tmp/$db.parquet "http://127.0.0.1:8123/api/tables/ak_bench_bars/export?format=parquet"; t1=$(secs)
  parquet_s=$(python3 -c "print($t1-$t0)"); peak parquet_mem
  echo "AkshareWeb tables benchmark, the Parquet export alone: $rows rows ($(du -h /tmp/$db.parquet | cut -f1))"
  echo "service before the export     : $rest_rss resident, peak since start $rest_peak"
  echo "Parquet export                : $(rate "$parquet_s"); service peak during it $parquet_mem, resident after it $(mb VmRSS) MB"
  exit 0
fi
t0=$(secs); curl -fs "${auth[@]}" -o /tmp/$db.csv "http://127.0.0.1:8123/api/tables/ak_bench_bars/export?format=csv"; t1=$(secs)
csv_s=$(python3 -c "print($t1-$t0)"); peak csv_mem
t0=$(secs); curl -fs "${auth[@]}" -o /tmp/$db.parquet "http://127.0.0.1:8123/api/tables/ak_bench_bars/export?format=parquet"; t1=$(secs)
parquet_s=$(python3 -c "print($t1-$t0)"); peak parquet_mem
t0=$(secs); sql "$db" --batch -e "SELECT * FROM ak_bench_bars" >/tmp/$db.tsv; t1=$(secs)
client_s=$(python3 -c "print($t1-$t0)")
t0=$(secs); curl -fs "${auth[@]}" -o /tmp/$db.xlsx "http://127.0.0.1:8123/api/tables/ak_bench_bars/export?format=excel"; t1=$(secs)
xlsx_s=$(python3 -c "print($t1-$t0)"); peak xlsx_mem
page() { curl -fs "${auth[@]}" -o /tmp/$db.page.json -w '%{time_total}' "http://127.0.0.1:8123/api/tables/ak_bench_bars/data?$1"; }
next_cursor() { python3 -c "import json; print(json.load(open('/tmp/$db.page.json'))['data']['next_cursor'])"; }
code=%E8%82%A1%E7%A5%A8%E4%BB%A3%E7%A0%81; day=%E6%97%A5%E6%9C%9F; close=%E6%94%B6%E7%9B%98
# Warms the service up (JIT, connection pool) on a filter of its own, so nothing below is counted yet.
page "filter%5B$code%5D=000001&page_size=100" >/dev/null
echo "AkshareWeb tables benchmark: $rows rows ($(wc -l </tmp/$db.csv) CSV lines, $(du -h /tmp/$db.xlsx | cut -f1) xlsx)"
echo "mariadb --batch SELECT *      : $(rate "$client_s")"
echo "service before the exports    : $rest_rss resident, peak since start $rest_peak"
echo "CSV export                    : $(rate "$csv_s") = $(python3 -c "print(f'{$client_s/$csv_s:.0%}')") of the client; service peak during it $csv_mem"
echo "Parquet export                : $(rate "$parquet_s") = $(python3 -c "print(f'{$csv_s/$parquet_s:.2f}')") x the CSV export's rate ($(du -h /tmp/$db.parquet | cut -f1)); service peak during it $parquet_mem"
echo "XLSX export                   : $(rate "$xlsx_s"); service peak during it $xlsx_mem"
echo "service peak since start      : $highest MB"
[ "$only" = exports ] && exit 0
echo "-- cold: nothing counted or looked up yet (a table no run of this service has written since it started)"
echo "page at offset 500,000 by id, first request (counts, finds positions): $(page "page=5001&page_size=100&sort_by=id") s"
echo "page at offset 500,000 by 日期, first request of that order           : $(page "page=5001&page_size=100&sort_by=$day") s"
echo "last page (offset 999,900) by 日期 desc, first request of that order  : $(page "page=10000&page_size=100&sort_by=$day&sort_order=desc") s"

# Restarted: the service makes its large tables ready at start, as it does after every run of the engine.
kill "$app"; wait "$app" 2>/dev/null || true
start_app
for _ in $(seq 1 600); do grep -q "Warmed ak_bench_bars" /tmp/$db.log && break; sleep 0.1; done
echo "-- ready: $(grep -o 'Warmed ak_bench_bars[^"]*' /tmp/$db.log | head -1)"
token=$(login)
auth=(-H "Authorization: Bearer $token")
page "filter%5B$code%5D=000002&page_size=100" >/dev/null
echo "page at offset 500,000 by id, first request                          : $(page "page=5001&page_size=100&sort_by=id") s"
echo "page at offset 500,000 by 股票代码, first request of that order        : $(page "page=5001&page_size=100&sort_by=$code") s"
echo "page at offset 500,000 by 日期, first request of that order           : $(page "page=5001&page_size=100&sort_by=$day") s"
cursor=$(next_cursor)
echo "page at offset 500,000 by 日期, later (page 5002)                     : $(page "page=5002&page_size=100&sort_by=$day") s"
echo "cursor page at offset 500,100 by 日期 (next_cursor of page 5001)      : $(page "page_size=100&sort_by=$day&cursor=$cursor") s"
echo "last page (offset 999,900) by 日期 desc, first request of that order  : $(page "page=10000&page_size=100&sort_by=$day&sort_order=desc") s"
echo "page at offset 500,000 by id desc, first request of that order        : $(page "page=5001&page_size=100&sort_by=id&sort_order=desc") s"
echo "one stock's history by date                                           : $(page "filter%5B$code%5D=000100&sort_by=$day&page=3") s"
# 收盘 has no index: the first sort by it sorts the whole table and asks for one (ix_sort_收盘, built in the
# background); once it is in, the table is made ready again and the order pages like the others.
warmed_before=$(grep -c "Warmed ak_bench_bars" /tmp/$db.log || true)
echo "page at offset 500,000 by 收盘, first request (no index yet: sorted whole): $(page "page=5001&page_size=100&sort_by=$close") s"
echo "page at offset 500,000 by 收盘, second request (index being built)        : $(page "page=5001&page_size=100&sort_by=$close") s"
for _ in $(seq 1 1200); do [ "$(grep -c "Warmed ak_bench_bars" /tmp/$db.log || true)" -gt "$warmed_before" ] && break; sleep 0.1; done
echo "-- $(grep -o 'Indexed ak_bench_bars[^"]*' /tmp/$db.log | head -1)"
echo "-- ready again: $(grep -o 'Warmed ak_bench_bars[^"]*' /tmp/$db.log | tail -1)"
echo "-- size of ix_sort_收盘: $(sql -N -e "SELECT CONCAT(ROUND(stat_value * @@innodb_page_size / 1048576), ' MB') FROM mysql.innodb_index_stats
  WHERE database_name = '$db' AND table_name = 'ak_bench_bars' AND index_name = 'ix_sort_收盘' AND stat_name = 'size'")"
echo "page at offset 500,000 by 收盘, once indexed                              : $(page "page=5001&page_size=100&sort_by=$close") s"
echo "page at offset 500,000 by 收盘 desc, once indexed                         : $(page "page=5001&page_size=100&sort_by=$close&sort_order=desc") s"
echo "page at offset 900,000 by 收盘, once indexed                              : $(page "page=9001&page_size=100&sort_by=$close") s"

#!/usr/bin/env bash
# Adjusted reads beside plain ones on a 1,000,000-row table of unadjusted daily bars (250 symbols x 4,000 days) with
# its qfq and hfq factor tables (26 steps per symbol, Sina's 1900-01-01 row included), named and keyed as the
# library's scripts make them (stock_zh_a_daily_unadjusted, stock_zh_a_daily_qfq_factor, stock_zh_a_daily_hfq_factor:
# (symbol, date) unique), so the service finds the adjustment declared by the bundled script:
#   - the data page, plain and adjust=hfq, for three orders (the page at half the table by id and by symbol, one symbol's
#     history by date), median of 15 requests each after a warm-up;
#   - the CSV and Parquet exports of the whole table, plain and adjust=qfq, one request each.
#   bench/tables-adjusted.sh [rows]
# Uses the private MariaDB of scripts/mariadb.sh (MariaDB's seq engine fills the tables), a database of its own
# (dropped at the end) and the service built in Release, started on 127.0.0.1:8124.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
rows="${1:-1000000}"
symbols=250
days=$((rows / symbols))
mid=$((rows / 200 + 1)) # the page at half the table
server="$(scripts/mariadb.sh start)"
sock="$root/.data/run/mariadb.sock"
db="adjbench_$RANDOM$RANDOM"
sql() { mariadb --no-defaults -uroot --socket="$sock" "$@"; }
sql -e "CREATE DATABASE $db CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
cleanup() { [ -n "${app:-}" ] && kill "$app" 2>/dev/null || true; sql -e "DROP DATABASE IF EXISTS $db" || true; rm -f /tmp/$db.*; }
trap cleanup EXIT

dotnet build src/AkshareWeb.Api -c Release -nologo -v q >/dev/null
ConnectionStrings__AkshareWeb="$server;Database=$db" AKSHAREWEB__Admin__Password=bench-admin-pass DataScripts__Path="$root/data-scripts" \
AKSHAREWEB__RateLimits__AdminPerWindow=100000 ASPNETCORE_URLS=http://127.0.0.1:8124 Logging__LogLevel__Default=Warning \
  dotnet src/AkshareWeb.Api/bin/Release/net10.0/AkshareWeb.Api.dll >>/tmp/$db.log 2>&1 &
app=$!
for _ in $(seq 1 240); do curl -fs http://127.0.0.1:8124/health/ready >/dev/null 2>&1 && break; sleep 0.5; done

bookkeeping="_execution_id VARCHAR(40) NOT NULL DEFAULT 'exec_bench', _collected_at DATETIME(6) NOT NULL DEFAULT '2026-12-07', _row_hash BINARY(16) NULL"
sql "$db" -e "
CREATE TABLE ak_stock_zh_a_daily_unadjusted (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, date DATE NULL, open DOUBLE NULL, high DOUBLE NULL,
  low DOUBLE NULL, close DOUBLE NULL, volume DOUBLE NULL, amount DOUBLE NULL, outstanding_share DOUBLE NULL, turnover DOUBLE NULL, symbol VARCHAR(16) NULL,
  $bookkeeping, UNIQUE KEY ux_natural_key (symbol, date), KEY ix_key_1 (date)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
INSERT INTO ak_stock_zh_a_daily_unadjusted (date, open, high, low, close, volume, amount, outstanding_share, turnover, symbol)
SELECT DATE('2000-01-03') + INTERVAL (seq % $days) DAY, 10 + (seq % 1000) / 100 - 0.1, 10.2 + (seq % 1000) / 100, 9.7 + (seq % 1000) / 100,
  10 + (seq % 1000) / 100, 100000 + seq, 1e8 + seq, 1e9, 0.0012, CONCAT('sh', LPAD(600000 + seq DIV $days, 6, '0'))
FROM seq_0_to_$((rows - 1));
ANALYZE TABLE ak_stock_zh_a_daily_unadjusted;" >/dev/null
for m in qfq hfq; do
  # Sina's step table: 1900-01-01, then one step a year from 2000 (factors as the strings Sina gives).
  sql "$db" -e "
  CREATE TABLE ak_stock_zh_a_daily_${m}_factor (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, date DATE NULL, ${m}_factor VARCHAR(32) NULL,
    symbol VARCHAR(16) NULL, $bookkeeping, UNIQUE KEY ux_natural_key (symbol, date), KEY ix_key_1 (date)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
  INSERT INTO ak_stock_zh_a_daily_${m}_factor (date, ${m}_factor, symbol)
  SELECT IF(y.seq = 0, DATE('1900-01-01'), DATE('1999-07-01') + INTERVAL y.seq YEAR),
    FORMAT(IF('$m' = 'hfq', 1 + y.seq * 0.05, 1 + (25 - y.seq) * 0.05), 16, 'en_US'), CONCAT('sh', LPAD(600000 + s.seq, 6, '0'))
  FROM seq_0_to_$((symbols - 1)) s JOIN seq_0_to_25 y;
  ANALYZE TABLE ak_stock_zh_a_daily_${m}_factor;" >/dev/null
done
sql "$db" -e "INSERT INTO warehouse_tables (table_name, display_name, category, created_at, last_updated_at) VALUES
  ('ak_stock_zh_a_daily_unadjusted', '不复权日线', 'stocks', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)),
  ('ak_stock_zh_a_daily_qfq_factor', '前复权因子', 'stocks', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)),
  ('ak_stock_zh_a_daily_hfq_factor', '后复权因子', 'stocks', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))"

token=$(curl -fs -X POST http://127.0.0.1:8124/api/auth/login -H 'Content-Type: application/json' \
  -d '{"username":"admin","password":"bench-admin-pass"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["access_token"])')
auth=(-H "Authorization: Bearer $token")
base="http://127.0.0.1:8124/api/tables/ak_stock_zh_a_daily_unadjusted"
secs() { python3 -c "import time; print(time.time())"; }
page() { curl -fs "${auth[@]}" -o /tmp/$db.page.json -w '%{time_total}\n' "$base/data?$1"; }
median() { for _ in $(seq 1 15); do page "$1"; done | sort -n | awk '{a[NR]=$1} END {printf "%.1f ms", a[8]*1000}'; }
check() { python3 -c "import json; d=json.load(open('/tmp/$db.page.json')); assert d['code']==0 and len(d['data']['items'])>0, d"; }
# Warm-up: JIT, connection pool, the table made ready (counted, positions looked up), both ways.
for q in "page=$mid&page_size=100&sort_by=id" "page=$mid&page_size=100&sort_by=symbol" "filter%5Bsymbol%5D=sh600100&page_size=100&sort_by=date&page=3"; do
  for _ in 1 2 3; do page "$q" >/dev/null; page "$q&adjust=hfq" >/dev/null; check; done
done
echo "AkshareWeb adjusted reads: $rows bars ($symbols symbols x $days days), 26 factor steps per symbol and method"
for q in "page=$mid&page_size=100&sort_by=id" "page=$mid&page_size=100&sort_by=symbol" "filter%5Bsymbol%5D=sh600100&page_size=100&sort_by=date&page=3"; do
  plain=$(median "$q"); adjusted=$(median "$q&adjust=hfq")
  echo "page $q: plain $plain, adjust=hfq $adjusted = $(python3 -c "print(f'{${adjusted% ms}/${plain% ms}:.2f}')") x"
done
export_rate() {
  local t0 t1; t0=$(secs); curl -fs "${auth[@]}" -o /tmp/$db.$2 "$base/export?$1"; t1=$(secs)
  python3 -c "print($t1-$t0)"
}
for format in csv parquet; do
  plain=$(export_rate "format=$format" "plain.$format"); adjusted=$(export_rate "format=$format&adjust=qfq" "qfq.$format")
  echo "$format export: plain $(python3 -c "print(f'{$rows/$plain:,.0f} rows/s ({$plain:.1f} s)')"), adjust=qfq $(python3 -c "print(f'{$rows/$adjusted:,.0f} rows/s ({$adjusted:.1f} s) = {$plain/$adjusted:.2f} x the plain rate')")"
done
echo "CSV lines: plain $(wc -l </tmp/$db.plain.csv), adjusted $(wc -l </tmp/$db.qfq.csv); first adjusted rows:"
head -3 /tmp/$db.qfq.csv

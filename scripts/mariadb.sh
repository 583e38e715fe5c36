#!/usr/bin/env bash
# Private MariaDB for scripts/run.sh and scripts/test.sh: lives under .data/mariadb, listens on a free
# loopback port, and is owned by this checkout alone.
#   scripts/mariadb.sh start [test]   -> starts it (installing Debian's mariadb-server if missing and we are root)
#                                        and prints the server connection string on stdout; a server stopped
#                                        before comes back on its previous port when that port is still free
#   scripts/mariadb.sh stop [test]    -> stops it
#   scripts/mariadb.sh status [test]  -> exit 0 when it is running
# "test" names the server scripts/test.sh runs the tests on, apart from the service's own (.data/mariadb-test, its
# files in .data/run/mariadb-test.*): its databases live for one test process, so it trades the crash safety a
# service's data needs for CPU (the suite is CPU-bound on two cores): all tables in the system tablespace instead of a
# file each (the tests create and drop thousands) and no doublewrite buffer. Both write the redo log at each commit and
# flush it about once a second (flushing it less, =0, measured no cheaper); the binary log is off on both.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "${2:-}" in
  "") name=mariadb; durability=() ;;
  test) name=mariadb-test; durability=(--innodb-file-per-table=0 --innodb-doublewrite=0) ;;
  *) echo "usage: $0 start|stop|status [test]" >&2; exit 2 ;;
esac
data="$root/.data/$name"
run="$root/.data/run"
mkdir -p "$run"
pidfile="$run/$name.pid"
portfile="$run/$name.port"
sock="$run/$name.sock"

log() { echo "[mariadb] $*" >&2; }

find_server() {
  for c in mariadbd mysqld /usr/sbin/mariadbd /usr/sbin/mysqld; do
    if command -v "$c" >/dev/null 2>&1; then command -v "$c"; return 0; fi
  done
  return 1
}

ensure_installed() {
  if find_server >/dev/null && command -v mariadb-install-db >/dev/null 2>&1; then return 0; fi
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian's mariadb-server and mariadb-client (first run only)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    # policy-rc.d keeps the package from starting a system-wide server we do not use.
    apt-get install -y -qq mariadb-server mariadb-client >&2
  else
    log "MariaDB is not installed. Install it with: sudo apt-get install mariadb-server mariadb-client"
    log "or set ConnectionStrings__AkshareWeb to an existing MySQL 8 / MariaDB 10.6+ database."
    exit 1
  fi
}

running() {
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

port_free() {
  python3 - "$1" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.close()
PY
}

free_port() {
  python3 - <<'PY' 2>/dev/null || echo $(( 33060 + RANDOM % 2000 ))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

client() {
  if command -v mariadb >/dev/null 2>&1; then echo mariadb; else echo mysql; fi
}

start() {
  ensure_installed
  if running; then
    port="$(cat "$portfile")"
  else
    if [ ! -d "$data/mysql" ]; then
      log "initialising a private data directory in $data"
      mkdir -p "$data"
      mariadb-install-db --no-defaults --datadir="$data" --auth-root-authentication-method=normal \
        --skip-test-db --user="$(id -un)" >"$run/$name-install.log" 2>&1 || { cat "$run/$name-install.log" >&2; exit 1; }
    fi
    # The port of the last start when it is still free: a service left running reconnects to the same address.
    if [ -s "$portfile" ] && port_free "$(cat "$portfile")"; then
      port="$(cat "$portfile")"
    else
      port="$(free_port)"
    fi
    server="$(find_server)"
    # A time zone away from UTC on purpose: code that forgets to say UTC shows it here, not in production.
    "$server" --no-defaults --datadir="$data" --socket="$sock" --port="$port" --bind-address=127.0.0.1 \
      --pid-file="$pidfile" --user="$(id -un)" --skip-name-resolve --character-set-server=utf8mb4 \
      --collation-server=utf8mb4_unicode_ci --default-time-zone=+08:00 --local-infile=1 \
      --max-connections=500 --innodb-buffer-pool-size=512M --innodb-log-file-size=256M \
      --innodb-flush-log-at-trx-commit=2 ${durability[@]+"${durability[@]}"} --max-allowed-packet=256M --innodb-sort-buffer-size=64M \
      --log-error="$run/$name.err" >/dev/null 2>&1 &
    echo "$port" >"$portfile"
    for _ in $(seq 1 100); do
      if "$(client)" --no-defaults -uroot --socket="$sock" -e "SELECT 1" >/dev/null 2>&1; then break; fi
      sleep 0.2
    done
    if ! "$(client)" --no-defaults -uroot --socket="$sock" -e "SELECT 1" >/dev/null 2>&1; then
      log "MariaDB did not start; its log follows"; tail -n 40 "$run/$name.err" >&2 || true; exit 1
    fi
    "$(client)" --no-defaults -uroot --socket="$sock" -e "
      CREATE USER IF NOT EXISTS 'akshare'@'127.0.0.1' IDENTIFIED BY 'akshare';
      GRANT ALL PRIVILEGES ON *.* TO 'akshare'@'127.0.0.1' WITH GRANT OPTION;
      FLUSH PRIVILEGES;"
    log "started on 127.0.0.1:$port (data in $data)"
  fi
  echo "Server=127.0.0.1;Port=$port;User ID=akshare;Password=akshare"
}

stop() {
  if running; then
    pid="$(cat "$pidfile")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$pidfile"
    log "stopped"
  fi
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) running ;;
  *) echo "usage: $0 start|stop|status [test]" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# A private 3-node MariaDB Galera cluster on loopback, for trying and testing AkshareWeb on a cluster that can lose
# a node. Node n listens on 127.0.0.n (the same client port on each address, because MySqlConnector gives every host
# of a list the one port); its data lives under .data/galera/node<n>, owned by the `mysql` user when run as root (the
# rsync state transfer runs as the server's user and must write there). The ports are chosen free at the first start
# and remembered, so several checkouts can each run one side by side.
#   scripts/galera.sh start        -> starts the stopped nodes (bootstrapping a new or wholly stopped cluster from its
#                                     most advanced node), installing Debian's mariadb-server, galera-4 and rsync when
#                                     missing and run as root; the last line is the connection string naming all three
#   scripts/galera.sh stop         -> stops every node cleanly (node 1 last, so it bootstraps the next start)
#   scripts/galera.sh status       -> each node's state, then `wsrep_cluster_size N`; exit 0 when a node runs
#   scripts/galera.sh kill <n>     -> kill -9 of node n (what a crashed machine looks like to the others)
#   scripts/galera.sh restart <n>  -> starts node n again (stopping it first if it runs); it rejoins by IST or SST
#   scripts/galera.sh connection   -> the connection string alone
#   scripts/galera.sh can-run      -> exit 0 when start can have a cluster here (what it needs is installed, or it may
#                                     install it); otherwise says what is missing and exits 1
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
base="$root/.data/galera"
# The data may live elsewhere, .data/galera pointing to it (place_data).
[ -L "$base" ] && base="$(readlink -f "$base")"
run="$base/run"
portfile="$run/ports"
nodes=(1 2 3)

log() { echo "[galera] $*" >&2; }

server_user() { if [ "$(id -u)" = "0" ]; then echo mysql; else id -un; fi; }

# The packages the cluster needs that this machine lacks, one line.
missing_packages() {
  local missing=()
  command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
  command -v mariadb >/dev/null 2>&1 || missing+=(mariadb-client)
  [ -e /usr/lib/galera/libgalera_smm.so ] || missing+=(galera-4)
  command -v rsync >/dev/null 2>&1 || missing+=(rsync)
  # The rsync state transfer checks its listener with ss (or lsof).
  command -v ss >/dev/null 2>&1 || command -v lsof >/dev/null 2>&1 || missing+=(iproute2)
  echo "${missing[*]}"
}

# Whether start can have a cluster here: nothing missing, or root with apt-get to install it.
can_install() { [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; }

can_run() {
  local missing; missing="$(missing_packages)"
  [ -z "$missing" ] && return 0
  can_install && return 0
  log "missing: $missing, and only root installs them (sudo apt-get install $missing)"
  return 1
}

ensure_installed() {
  local missing; missing="$(missing_packages)"
  [ -z "$missing" ] && return 0
  can_run || exit 1
  log "installing $missing (first run only)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # shellcheck disable=SC2086 # one word per package
  apt-get install -y -qq $missing >&2
  id mysql >/dev/null 2>&1 || { log "the package did not create the mysql user"; exit 1; }
}

client() { if command -v mariadb >/dev/null 2>&1; then echo mariadb; else echo mysql; fi; }
sock() { echo "$run/node$1.sock"; }
pidfile() { echo "$run/node$1.pid"; }
launched() { echo "$run/node$1.launched"; }
sql() { local n="$1"; shift; "$(client)" --no-defaults -uroot --socket="$(sock "$n")" -N -B "$@"; }

# A killed server nobody has reaped yet (a container without an init) is a zombie: not running.
alive() { local state; state="$(ps -o stat= -p "$1" 2>/dev/null)" && [ -n "$state" ] && [ "${state#Z}" = "$state" ]; }
running() { local p; p="$(pidfile "$1")"; [ -s "$p" ] && alive "$(cat "$p")"; }

# Free on all three addresses: node n binds 127.0.0.n.
ports_free() {
  python3 - "$@" <<'PY' 2>/dev/null
import socket, sys
for port in sys.argv[1:]:
    for n in (1, 2, 3):
        s = socket.socket()
        # As the servers bind: a port that only has connections closing (TIME_WAIT) is free for them.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((f"127.0.0.{n}", int(port)))
        finally:
            s.close()
PY
}

choose_ports() {
  if [ -s "$portfile" ] && ports_free $(cat "$portfile"); then return 0; fi
  for _ in $(seq 1 50); do
    # client, group communication, incremental transfer, snapshot transfer
    local candidate="$((20000 + RANDOM % 30000)) $((20000 + RANDOM % 30000)) $((20000 + RANDOM % 30000)) $((20000 + RANDOM % 30000))"
    if [ "$(echo "$candidate" | tr ' ' '\n' | sort -u | wc -l)" = 4 ] && ports_free $candidate; then
      echo "$candidate" >"$portfile"
      return 0
    fi
  done
  log "found no four ports free on 127.0.0.1-3"; exit 1
}

read_ports() { read -r client_port group_port ist_port sst_port <"$portfile"; }

connection_string() {
  read_ports
  echo "Server=127.0.0.1,127.0.0.2,127.0.0.3;Port=$client_port;User ID=akshare;Password=akshare;LoadBalance=FailOver"
}

write_config() {
  local n="$1"
  read_ports
  local peers="gcomm://127.0.0.1:$group_port,127.0.0.2:$group_port,127.0.0.3:$group_port"
  cat >"$run/node$n.cnf" <<EOF
[mysqld]
user=$(server_user)
datadir=$base/node$n
socket=$(sock "$n")
pid-file=$(pidfile "$n")
log-error=$run/node$n.err
port=$client_port
bind-address=127.0.0.$n
skip-name-resolve
character-set-server=utf8mb4
collation-server=utf8mb4_unicode_ci
# Away from UTC on purpose, as scripts/mariadb.sh is: code that forgets to say UTC shows it here.
default-time-zone=+08:00
local-infile=1
max-connections=500
max-allowed-packet=256M
innodb-buffer-pool-size=256M
innodb-log-file-size=128M
innodb-flush-log-at-trx-commit=2
innodb-sort-buffer-size=64M
# What Galera requires: row events, InnoDB, interleaved auto-increment locks.
binlog-format=ROW
default-storage-engine=InnoDB
innodb-autoinc-lock-mode=2
# Every table must have a primary key (Galera certifies rows by it): refuse one without, so a test shows it.
innodb-force-primary-key=ON
wsrep-mode=REQUIRED_PRIMARY_KEY,STRICT_REPLICATION
wsrep-on=ON
wsrep-provider=/usr/lib/galera/libgalera_smm.so
wsrep-cluster-name=akshareweb-$(echo "$root" | sha256sum | cut -c1-12)
wsrep-cluster-address=$peers
wsrep-node-name=node$n
wsrep-node-address=127.0.0.$n:$group_port
wsrep-node-incoming-address=127.0.0.$n:$client_port
wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.$n:$group_port;ist.recv_addr=127.0.0.$n:$ist_port;gcache.size=256M
wsrep-sst-method=rsync
wsrep-sst-receive-address=127.0.0.$n:$sst_port
wsrep-slave-threads=2
EOF
}

# The last committed position a node's data directory holds, uuid:seqno: its grastate.dat after a clean stop, the
# server's own recovery (--wsrep-recover) after a crash, which leaves -1 there. Empty for a node never started.
position() {
  local n="$1" state="$base/node$1/grastate.dat" uuid seqno
  [ -f "$state" ] || return 0
  uuid="$(awk '/^uuid:/{print $2}' "$state")"
  seqno="$(awk '/^seqno:/{print $2}' "$state")"
  if [ "${seqno:--1}" = "-1" ]; then
    rm -f "$run/node$n.recover"
    /usr/sbin/mariadbd --defaults-file="$run/node$n.cnf" --wsrep-recover --log-error="$run/node$n.recover" >/dev/null 2>&1 || true
    sed -n 's/.*Recovered position: *\([-0-9a-f]*:[-0-9]*\).*/\1/p' "$run/node$n.recover" 2>/dev/null | tail -n1
  else
    echo "$uuid:$seqno"
  fi
}

seqno_of() { local p="${1:-}"; [ -n "$p" ] && echo "${p##*:}" || echo -1; }

launch() {
  local n="$1"; shift
  if running "$n"; then log "node $n is running already"; exit 1; fi
  write_config "$n"
  mkdir -p "$base/node$n"
  chown -R "$(server_user)" "$base/node$n" "$run"
  rm -f "$(pidfile "$n")"
  /usr/sbin/mariadbd --defaults-file="$run/node$n.cnf" "$@" >/dev/null 2>&1 &
  # The server writes its pid file only once its state transfer is done and it listens: until then this is its pid.
  echo $! >"$(launched "$n")"
}

# Synced and part of the primary component: the node serves clients.
synced() { [ "$(sql "$1" -e "SHOW STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null | awk '{print $2}')" = "Synced" ]; }

wait_synced() {
  # Generous: on a loaded machine a node's catching up can take minutes.
  local n="$1" seconds="${2:-900}" gone=0
  for _ in $(seq 1 $((seconds * 5))); do
    if synced "$n"; then return 0; fi
    # Given up only when the server has been gone for a few looks in a row (a loaded machine answers ps slowly). Its
    # pid file comes late (after a state transfer of minutes): the process started is looked at meanwhile.
    if running "$n" || alive "$(cat "$(launched "$n")" 2>/dev/null || echo 0)"; then gone=0; else gone=$((gone + 1)); fi
    if [ "$gone" -ge 15 ]; then break; fi
    sleep 0.2
  done
  log "node $n did not reach Synced; the end of its log follows"
  tail -n 40 "$run/node$n.err" >&2 || true
  exit 1
}

start_node() {
  local n="$1" bootstrap="${2:-}" at args=()
  write_config "$n"
  # A node killed (kill -9) does not know where it stopped until it looks: told, it asks the cluster for what it
  # missed only (an incremental transfer from a donor's cache) instead of a whole copy.
  at="$(position "$n")"
  [ "$(seqno_of "$at")" != "-1" ] && args+=(--wsrep-start-position="$at")
  if [ -n "$bootstrap" ]; then
    # The node bootstrapping the cluster must be marked safe to; we chose it as the most advanced.
    [ -f "$base/node$n/grastate.dat" ] && sed -i 's/^safe_to_bootstrap: 0/safe_to_bootstrap: 1/' "$base/node$n/grastate.dat"
    args+=(--wsrep-new-cluster)
  fi
  launch "$n" ${args[@]+"${args[@]}"}
  wait_synced "$n"
  log "node $n Synced on 127.0.0.$n:$client_port"
}

# As root the nodes run as mysql, which must reach their data. A checkout inside a private directory (a CI runner's
# `mktemp -d`, mode 700) is out of its reach, so there the data lives in a directory of its own under /var/tmp, named
# after the checkout, and .data/galera points to it.
place_data() {
  { [ "$(id -u)" = "0" ] && [ ! -e "$base" ]; } || return 0
  mkdir -p "$root/.data"
  runuser -u "$(server_user)" -- test -x "$root/.data" 2>/dev/null && return 0
  local outside
  outside="/var/tmp/akshareweb-galera-$(printf '%s' "$root" | md5sum | cut -c1-12)"
  mkdir -p "$outside"
  chmod 755 "$outside"
  ln -sfn "$outside" "$base"
  log "the $(server_user) user cannot reach $root/.data, so the cluster's data lives in $outside (.data/galera points there)"
  base="$outside"
  run="$base/run"
  portfile="$run/ports"
}

start() {
  local n
  ensure_installed
  place_data
  mkdir -p "$run"
  local any=""
  for n in "${nodes[@]}"; do running "$n" && any=1; done
  # The ports stay those of the nodes that run; a stopped cluster takes its old ones again while they are free.
  [ -n "$any" ] || choose_ports
  read_ports
  if [ -z "$any" ]; then
    if [ ! -d "$base/node1/mysql" ]; then
      log "initialising a new cluster in $base"
      mkdir -p "$base/node1"
      chown -R "$(server_user)" "$base" 
      mariadb-install-db --no-defaults --datadir="$base/node1" --auth-root-authentication-method=normal \
        --skip-test-db --user="$(server_user)" >"$run/install.log" 2>&1 || { cat "$run/install.log" >&2; exit 1; }
      start_node 1 bootstrap
    else
      # A stopped or crashed cluster starts again from its most advanced node.
      local best=1 best_position=-2 p
      for n in "${nodes[@]}"; do
        [ -d "$base/node$n/mysql" ] || continue
        write_config "$n"
        p="$(seqno_of "$(position "$n")")"
        if [ "$p" -gt "$best_position" ]; then best=$n; best_position=$p; fi
      done
      log "bootstrapping from node $best (position $best_position)"
      start_node "$best" bootstrap
    fi
  fi
  for n in "${nodes[@]}"; do
    running "$n" || start_node "$n"
  done
  local first
  first="$(first_running)"
  sql "$first" -e "
    CREATE USER IF NOT EXISTS 'akshare'@'127.%' IDENTIFIED BY 'akshare';
    GRANT ALL PRIVILEGES ON *.* TO 'akshare'@'127.%' WITH GRANT OPTION;"
  log "cluster of $(cluster_size "$first") on 127.0.0.1-3:$client_port (data in $base)"
  connection_string
}

first_running() {
  local n
  for n in "${nodes[@]}"; do if running "$n"; then echo "$n"; return 0; fi; done
  return 1
}

cluster_size() { sql "$1" -e "SHOW STATUS LIKE 'wsrep_cluster_size'" 2>/dev/null | awk '{print $2}'; }

stop_node() {
  local n="$1"
  running "$n" || return 0
  local pid
  pid="$(cat "$(pidfile "$n")")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 600); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then log "node $n did not stop in 60 s; killing it"; kill -9 "$pid" 2>/dev/null || true; fi
  rm -f "$(pidfile "$n")"
  log "node $n stopped"
}

stop() {
  local n
  for n in 3 2 1; do stop_node "$n"; done
}

status() {
  local n
  [ -s "$portfile" ] || { echo "wsrep_cluster_size 0"; return 1; }
  read_ports
  local first=""
  for n in "${nodes[@]}"; do
    if running "$n"; then
      echo "node$n 127.0.0.$n:$client_port $(sql "$n" -e "SHOW STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null | awk '{print $2}')"
      [ -n "$first" ] || first="$n"
    else
      echo "node$n 127.0.0.$n:$client_port down"
    fi
  done
  if [ -z "$first" ]; then echo "wsrep_cluster_size 0"; return 1; fi
  echo "wsrep_cluster_size $(cluster_size "$first")"
}

node_arg() {
  case "${1:-}" in 1|2|3) echo "$1" ;; *) echo "usage: $0 kill|restart 1|2|3" >&2; exit 2 ;; esac
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  connection) connection_string ;;
  can-run) can_run ;;
  kill)
    n="$(node_arg "${2:-}")"
    if running "$n"; then kill -9 "$(cat "$(pidfile "$n")")"; log "node $n killed (kill -9)"; else log "node $n is not running"; fi
    ;;
  restart)
    n="$(node_arg "${2:-}")"
    stop_node "$n"
    if first_running >/dev/null; then
      # Another node is up: this one joins it (incremental transfer when the gap is in the donor's cache, else rsync).
      read_ports
      start_node "$n"
    else
      start >/dev/null
    fi
    ;;
  *) echo "usage: $0 start|stop|status|kill <n>|restart <n>|connection|can-run" >&2; exit 2 ;;
esac

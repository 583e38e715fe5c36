#!/usr/bin/env bash
# Login timing: an unknown username and a wrong password for a real one must cost the same, so a caller
# cannot tell which usernames exist. Run against a started service (scripts/run.sh):
#   bench/login-timing.sh [base-url] [attempts]
# Prints the median and p90 of each kind in milliseconds. Keep attempts under the per-username login limit
# (RateLimits:LoginAttemptsPerUsername) or raise it for the run.
set -euo pipefail
base="${1:-http://localhost:8000}"
n="${2:-9}"
user="timing_$RANDOM$RANDOM"
curl -fsS -o /dev/null -X POST "$base/api/auth/register" -H 'Content-Type: application/json' \
  -d "{\"username\":\"$user\",\"email\":\"$user@example.com\",\"password\":\"password-123\",\"password_confirm\":\"password-123\"}"

measure() { # username -> one line of seconds per attempt
  for i in $(seq 1 "$n"); do
    curl -s -o /dev/null -w '%{time_total}\n' -X POST "$base/api/auth/login" -H 'Content-Type: application/json' \
      -d "{\"username\":\"$1\",\"password\":\"wrong-password-$i\"}"
  done
}
summary() { sort -n | awk '{a[NR]=$1*1000} END {printf "median %.1f ms  p90 %.1f ms  (n=%d)\n", a[int((NR+1)/2)], a[int(NR*0.9+0.5)], NR}'; }

echo "wrong password : $(measure "$user" | summary)"
echo "unknown user   : $(measure "nobody_$RANDOM$RANDOM" | summary)"

#!/usr/bin/env bash
# `make soak` (issue #8, never part of `make test`): levity under steady load
# for SOAK_MINUTES (30) at SOAK_RPS (300) requests per second, mixed
# protocols, streams and not, against a fake Gemini upstream that fails
# SOAK_FAULT_RATE (0.05) of its calls; levity has three accounts on it, so
# failover happens. Checks that every request is accounted for in levity's
# own count and that memory and open files do not grow after the warm-up;
# writes SOAK.md. Short run: SOAK_MINUTES=2 bench/soak.sh.
#
# Why not wrk: wrk (wrk2 is not packaged) is closed-loop. It can only be
# slowed with a Lua delay() between a response and the next request, so when
# levity stalls wrk sends less and the stall hides in a lower rate rather
# than in the latency (coordinated omission). It also drops the requests in
# flight when its time is up, so "sent" and "counted by levity" cannot be
# matched exactly, and it reports percentiles for a whole run only. The
# Python asyncio generator (bench/soak_load.py) sends on a fixed schedule,
# waits for every answer, checks each one, and keeps per-window percentiles.
# At a few hundred requests per second it needs well under one core.
#
# Also: SOAK_CONNECTIONS (128 keep-alive client connections), SOAK_SESSIONS
# (1000 conversations), SOAK_KEEP=1 keeps the logs and data. Binary:
# LEVITY_BIN (target/release/levity; `make build` first). Needs python3, curl
# and jq. Traffic stays on 127.0.0.1; every loop is bounded by SOAK_MINUTES.
set -euo pipefail
cd "$(dirname "$0")/.."

MINUTES=${SOAK_MINUTES:-30}
RPS=${SOAK_RPS:-300}
FAULT_RATE=${SOAK_FAULT_RATE:-0.05}
CONNECTIONS=${SOAK_CONNECTIONS:-128}
# Distinct conversations the requests belong to; 0 makes every request a new
# one, which fills levity's session table (capped at 50,000) within minutes.
SESSIONS=${SOAK_SESSIONS:-1000}
BIN=${LEVITY_BIN:-target/release/levity}
[ -x "$BIN" ] || { echo "soak: $BIN is missing; build levity first (make build)" >&2; exit 1; }
BIN=$(realpath "$BIN")
# Read now: the binary may be rebuilt while the run goes on.
version=$("$BIN" --version | cut -d' ' -f2-)
for tool in python3 curl jq; do
  command -v $tool >/dev/null || { echo "soak: needs $tool" >&2; exit 1; }
done
seconds=$(python3 -c "print(round(float('$MINUTES') * 60))")
[ "$seconds" -ge 30 ] || { echo "soak: SOAK_MINUTES must be at least 0.5" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/levity-soak.XXXXXX")
data="$work/data"
export LEVITY_HOME="$data" LEVITY_LOG=warn
upstream_pid="" levity_pid=""
cleanup() {
  for p in $levity_pid $upstream_pid; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${SOAK_KEEP:-}" ]; then echo "soak: files kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the fake upstream with its faults
python3 bench/soak_upstream.py --fault-rate "$FAULT_RATE" --port-file "$work/upstream.port" 2>"$work/upstream.log" &
upstream_pid=$!
for _ in $(seq 500); do [ -s "$work/upstream.port" ] && break; sleep 0.01; done
[ -s "$work/upstream.port" ] || { echo "soak: the fake upstream did not start" >&2; cat "$work/upstream.log" >&2; exit 1; }
UPSTREAM="http://127.0.0.1:$(cat "$work/upstream.port")"

# --- levity on a fresh folder: three accounts (paid tier: the free tier's
# 10 requests a minute would only measure the scheduler's headroom) and a
# client key, written before the server starts.
for n in 1 2 3; do
  "$BIN" --data-dir "$data" account add gemini --api-key "AIzaSOAK-account-$n-000000000" --name "soak-$n" \
    --base-url "$UPSTREAM" --tier paid >/dev/null
done
key=$("$BIN" --data-dir "$data" key create --name soak 2>/dev/null)
"$BIN" --data-dir "$data" serve --port 0 --no-open >"$work/levity.log" 2>&1 &
levity_pid=$!
# curl with the admin token of the running server.
api() { curl -H @"$work/admin.h" "$@"; }
URL=""
for _ in $(seq 1000); do
  server=$(cat "$data/levity.server.json" 2>/dev/null || true)
  if [[ $server =~ \"admin_token\":\ *\"([^\"]+)\" ]]; then
    # A header file keeps the admin token out of curl's arguments.
    (umask 077; printf 'x-levity-admin-token: %s\n' "${BASH_REMATCH[1]}" >"$work/admin.h")
    if [[ $server =~ \"url\":\ *\"([^\"]+)\" ]] && api -sf -o /dev/null "${BASH_REMATCH[1]}/api/status"; then
      URL=${BASH_REMATCH[1]}
      break
    fi
  fi
  sleep 0.01
done
[ -n "$URL" ] || { echo "soak: levity did not start" >&2; cat "$work/levity.log" >&2; exit 1; }

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
mem=$(awk '/MemTotal/{printf "%.0f GB", $2 / 1048576}' /proc/meminfo)
load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "soak: $RPS requests/s for $MINUTES min against levity at $URL (pid $levity_pid); load average before: $load"

api -sf "$URL/api/stats?days=2" >"$work/stats-before.json"
python3 bench/soak_load.py --url "$URL" --rps "$RPS" --seconds "$seconds" --connections "$CONNECTIONS" \
  --sessions "$SESSIONS" --key "$key" --pid "$levity_pid" --out "$work/load.json"
kill -0 "$levity_pid" 2>/dev/null || { echo "soak: levity died during the run" >&2; tail -20 "$work/levity.log" >&2; exit 1; }
api -sf "$URL/api/stats?days=2" >"$work/stats-after.json"
curl -sf "$UPSTREAM/stats" >"$work/upstream.json"
api -sf "$URL/api/accounts" >"$work/accounts.json"

# A clean stop ends the run: SIGTERM, exit 0.
kill -TERM "$levity_pid"
rc=0
wait "$levity_pid" || rc=$?
levity_pid=""

report_rc=0
python3 bench/soak_report.py "$work/load.json" "$work/stats-before.json" "$work/stats-after.json" \
  "$work/upstream.json" "$work/accounts.json" SOAK.md \
  "command=SOAK_MINUTES=$MINUTES SOAK_RPS=$RPS SOAK_FAULT_RATE=$FAULT_RATE SOAK_SESSIONS=$SESSIONS bench/soak.sh" \
  "date=$(date -u '+%Y-%m-%d %H:%M UTC')" \
  "machine=$(nproc) cores ($cpu), $mem of memory, Linux $(uname -r)" \
  "version=$version" "binary=${BIN#"$PWD"/}" \
  "fault_rate=$(python3 -c "print(f'{float(\"$FAULT_RATE\") * 100:g} %')")" \
  "note=; load average $load before the run" || report_rc=$?
[ "$rc" = 0 ] || { echo "soak: FAIL: levity exited with $rc after SIGTERM" >&2; exit 1; }
echo "soak: results in SOAK.md"
[ "$report_rc" = 0 ] || { echo "soak: FAIL (see SOAK.md)" >&2; exit 1; }

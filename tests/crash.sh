#!/usr/bin/env bash
# Crash safety (issue #8). Part of `make test`; about two minutes on 2 cores.
#
# 1. Crash loop: CRASH_ITERATIONS (100) times on one data folder, levity
#    starts, every write acknowledged so far is checked, concurrent writes
#    run (accounts, client keys and settings through the admin API and the
#    CLI, proxy requests that write usage and account health), and levity
#    is killed with SIGKILL at a random moment 20-400 ms after the writes
#    start. Every tenth iteration lives 1.5-3 s instead, so the periodic save
#    of usage and health (every 2 s) runs and can be cut short as well. A
#    last restart checks everything once more.
# 2. Graceful shutdown: two slow streams (OpenAI Chat translated to Gemini,
#    and Gemini passed through) are in flight when levity gets SIGTERM; both
#    must arrive whole, new connections must be refused, levity must exit 0
#    within its 10 s drain, and the two requests must be in the saved usage.
#
# The writes and checks are bench/crash_driver.py; the fake Gemini upstream
# is bench/soak_upstream.py (no faults here). Binary: LEVITY_BIN
# (target/debug/levity). Needs python3, curl and jq; no network but loopback.
# Logs and the data folder are kept on failure, or always with CRASH_KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${LEVITY_BIN:-target/debug/levity}
ITERATIONS=${CRASH_ITERATIONS:-100}
[ -x "$BIN" ] || { echo "crash: $BIN is missing; build levity first (cargo build)" >&2; exit 1; }
BIN=$(realpath "$BIN")
for tool in python3 curl jq; do
  command -v $tool >/dev/null || { echo "crash: needs $tool" >&2; exit 1; }
done
# The interpreter itself, not a version manager's shim: it runs 200 times.
PY=$(python3 -c 'import sys; print(sys.executable)')

work=$(mktemp -d "${TMPDIR:-/tmp}/levity-crash.XXXXXX")
data="$work/data"
acks="$work/acks.jsonl"
log="$work/levity.log"
export LEVITY_HOME="$data" LEVITY_LOG=warn
started_at=$(date +%s)
upstream_pid="" levity_pid="" driver_pid="" extra_pids=()
status=failed

cleanup() {
  for p in $levity_pid $driver_pid $upstream_pid "${extra_pids[@]}"; do
    kill -KILL "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [ "$status" = passed ] && [ -z "${CRASH_KEEP:-}" ]; then
    rm -rf "$work"
  else
    echo "crash: logs and data kept in $work" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

iterations_done=0 acked=0 verified=0 failures=0
summary() {
  local proxy
  proxy=$(jq -s '[.[] | select(.type == "proxy")] | "\(map(.ok) | add // 0) of \(map(.sent) | add // 0)"' -r "$acks" 2>/dev/null || echo "?")
  echo "crash: $iterations_done iterations, $acked writes acknowledged, $verified verified, $failures failures" \
       "($proxy proxy requests answered 200; $(( $(date +%s) - started_at )) s)"
}
fail() {
  failures=$((failures + 1))
  echo "crash: FAILED: $*" >&2
  summary
  exit 1
}
ms_sleep() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

# Waits until the levity we just started (pid $levity_pid) has written its
# server file and answers; the file of a killed levity is left behind stale,
# hence the pid check.
# curl with the admin token of the running server.
api() { curl -H @"$work/admin.h" "$@"; }
wait_ready() {
  local what=$1 url server
  for _ in $(seq 1500); do
    if ! kill -0 "$levity_pid" 2>/dev/null; then
      tail -20 "$log" >&2
      fail "$what: levity exited instead of starting (the data file did not open?)"
    fi
    # Read with bash alone: this loop runs every 10 ms.
    server=$(cat "$data/levity.server.json" 2>/dev/null || true)
    if [[ $server =~ \"pid\":\ *$levity_pid[^0-9] && $server =~ \"url\":\ *\"([^\"]+)\" ]]; then
      url=${BASH_REMATCH[1]}
      # Every /api call needs this start's admin token; a header file keeps
      # it out of curl's arguments (other users can read those).
      [[ $server =~ \"admin_token\":\ *\"([^\"]+)\" ]] || continue
      (umask 077; printf 'x-levity-admin-token: %s\n' "${BASH_REMATCH[1]}" >"$work/admin.h")
      api -sf -o /dev/null "$url/api/status" && { URL=$url; return; }
    fi
    sleep 0.01
  done
  tail -20 "$log" >&2
  fail "$what: levity did not answer within 15 s"
}
start_levity() {
  echo "--- start ($1)" >>"$log"
  "$BIN" --data-dir "$data" serve --port 0 --no-open >>"$log" 2>&1 &
  levity_pid=$!
  wait_ready "$1"
}
# Checks every write acknowledged so far against the running levity.
verify() {
  local out
  if ! out=$("$PY" bench/crash_driver.py verify --data-dir "$data" --upstream "$UPSTREAM" \
               --acks "$acks" --state "$work/verify-state.json" 2>"$work/verify.err"); then
    cat "$work/verify.err" >&2
    [ -n "$out" ] && failures=$(($(jq .failures <<<"$out") - 1))
    fail "$1: acknowledged writes are missing or wrong after the restart"
  fi
  acked=$(jq .acked <<<"$out")
  verified=$(jq .verified <<<"$out")
  echo "$1: $out" >>"$work/verify.log"
}

# --- the fake upstream, for the whole test
"$PY" bench/soak_upstream.py --port-file "$work/upstream.port" 2>"$work/upstream.log" &
upstream_pid=$!
for _ in $(seq 500); do [ -s "$work/upstream.port" ] && break; sleep 0.01; done
[ -s "$work/upstream.port" ] || fail "the fake upstream did not start: $(cat "$work/upstream.log")"
UPSTREAM="http://127.0.0.1:$(cat "$work/upstream.port")"

# --- before any server runs: the CLI writes the file itself. One account
# and the client key the proxy requests carry (with a key, every proxy
# request needs one).
: >"$acks"
base_key="AIzaCRASH-base-0000000000000"
"$BIN" --data-dir "$data" account add gemini --api-key "$base_key" --name crash-base \
  --base-url "$UPSTREAM" --tier paid >>"$log" 2>&1 || fail "levity account add (no server) failed"
proxy_key=$("$BIN" --data-dir "$data" key create --name crash-proxy 2>>"$log")
[[ $proxy_key == sk-lev-* ]] || fail "levity key create printed no key: $proxy_key"
jq -nc --arg h "${base_key:0:3}...${base_key: -4}" '{it: 0, type: "account", via: "cli", name: "crash-base", hint: $h}' >>"$acks"
jq -nc --arg k "$proxy_key" '{it: 0, type: "key", via: "cli", name: "crash-proxy", key: $k}' >>"$acks"

# --- 1. the crash loop
for it in $(seq 1 "$ITERATIONS"); do
  it_ns=$(date +%s%N)
  start_levity "iteration $it"
  t_ready=$(( ($(date +%s%N) - it_ns) / 1000000 ))
  verify "iteration $it"
  t_verified=$(( ($(date +%s%N) - it_ns) / 1000000 ))
  echo "iteration $it: ready after $t_ready ms, verified after $t_verified ms" >>"$work/verify.log"
  rm -f "$work/writing"
  if ((it % 10 == 0)); then delay=$((1500 + RANDOM % 1501)); else delay=$((20 + RANDOM % 381)); fi
  # Long iterations keep the proxy and setting writes going but add accounts
  # and keys for 400 ms only, as the short ones do.
  "$PY" bench/crash_driver.py write --bin "$BIN" --data-dir "$data" --upstream "$UPSTREAM" \
    --acks "$acks" --iteration "$it" --proxy-key "$proxy_key" --started "$work/writing" \
    --add-ms 400 2>>"$work/driver.err" &
  driver_pid=$!
  for _ in $(seq 500); do [ -e "$work/writing" ] && break; sleep 0.005; done
  ms_sleep "$delay"
  kill -KILL "$levity_pid"
  wait "$levity_pid" 2>/dev/null || true
  levity_pid=""
  # The driver finishes what it has in hand (a CLI command may be writing
  # the file directly now that no server holds it) before the next start.
  kill -TERM "$driver_pid"
  wait "$driver_pid" || fail "iteration $it: the write driver failed: $(tail -5 "$work/driver.err")"
  driver_pid=""
  echo "iteration $it: killed after ${delay} ms of writes; $(( ($(date +%s%N) - it_ns) / 1000000 )) ms in all" >>"$work/verify.log"
  iterations_done=$it
done
start_levity "after the last crash"
verify "after the last crash"
echo "crash: loop done: $iterations_done iterations, $acked writes acknowledged, $verified verified ($(( $(date +%s) - started_at )) s)"

# --- 2. graceful shutdown
usage_before=$(api -sf "$URL/api/stats?days=3" | jq '[.series[].requests] | add')
chat='{"model":"gemini-2.5-flash-slow","stream":true,"messages":[{"role":"user","content":"slow please"}]}'
gem='{"contents":[{"role":"user","parts":[{"text":"slow please"}]}]}'
curl -sN --max-time 30 -H "authorization: Bearer $proxy_key" -H 'content-type: application/json' \
  -d "$chat" "$URL/v1/chat/completions" >"$work/slow-chat.out" &
chat_pid=$!
curl -sN --max-time 30 -H "x-goog-api-key: $proxy_key" -H 'content-type: application/json' \
  -d "$gem" "$URL/v1beta/models/gemini-2.5-flash-slow:streamGenerateContent?alt=sse" >"$work/slow-gemini.out" &
gem_pid=$!
extra_pids=("$chat_pid" "$gem_pid")
# Both streams have started (their first chunks arrived) before the signal.
for _ in $(seq 500); do
  [ -s "$work/slow-chat.out" ] && [ -s "$work/slow-gemini.out" ] && break
  sleep 0.01
done
[ -s "$work/slow-chat.out" ] && [ -s "$work/slow-gemini.out" ] || fail "graceful: the slow streams did not start"
term_ns=$(date +%s%N)
kill -TERM "$levity_pid"
sleep 0.2
# Draining: in-flight requests finish, but nothing new gets in.
if api -s -o /dev/null --max-time 2 "$URL/api/status"; then
  fail "graceful: levity still accepted a new connection 200 ms after SIGTERM"
fi
chat_rc=0 gem_rc=0
wait "$chat_pid" || chat_rc=$?
wait "$gem_pid" || gem_rc=$?
extra_pids=()
# 20 chunks w0..w19 and each protocol's own end.
[ "$chat_rc" = 0 ] && [ "$(grep -c '"content":"w[0-9]* "' "$work/slow-chat.out")" = 20 ] &&
  grep -q '^data: \[DONE\]' "$work/slow-chat.out" ||
  fail "graceful: the OpenAI stream was cut by SIGTERM (curl exit $chat_rc): $(tail -c 300 "$work/slow-chat.out")"
[ "$gem_rc" = 0 ] && [ "$(grep -c '"text": "w[0-9]* "' "$work/slow-gemini.out")" = 20 ] &&
  grep -q '"finishReason": "STOP"' "$work/slow-gemini.out" ||
  fail "graceful: the Gemini stream was cut by SIGTERM (curl exit $gem_rc): $(tail -c 300 "$work/slow-gemini.out")"
# The drain deadline is 10 s (server/mod.rs); allow a second for the save.
for _ in $(seq 110); do kill -0 "$levity_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$levity_pid" 2>/dev/null && fail "graceful: levity still runs 11 s after SIGTERM"
rc=0
wait "$levity_pid" || rc=$?
levity_pid=""
exit_ms=$(( ($(date +%s%N) - term_ns) / 1000000 ))
[ "$rc" = 0 ] || fail "graceful: levity exited with $rc after SIGTERM (want 0): $(tail -5 "$log")"
[ -e "$data/levity.server.json" ] && fail "graceful: levity left levity.server.json behind after a clean exit"
# Usage is saved on shutdown: both streams are in it after a restart.
start_levity "after SIGTERM"
usage_after=$(api -sf "$URL/api/stats?days=3" | jq '[.series[].requests] | add')
[ "$usage_after" -ge $((usage_before + 2)) ] ||
  fail "graceful: usage saved on shutdown holds $usage_after requests, want at least $((usage_before + 2))"
verify "after SIGTERM"
echo "crash: graceful shutdown: both streams whole, new connections refused, exit 0 after $exit_ms ms, usage saved"

# --- a dashboard left open must not hold a shutdown for the whole drain:
# the /api/events stream ends when the server stops.
api -sN --max-time 30 "$URL/api/events" >/dev/null 2>&1 &
extra_pids=($!)
sleep 0.3
term_ns=$(date +%s%N)
kill -TERM "$levity_pid"
rc=0
wait "$levity_pid" || rc=$?
levity_pid=""
events_ms=$(( ($(date +%s%N) - term_ns) / 1000000 ))
wait "${extra_pids[0]}" 2>/dev/null || true
extra_pids=()
[ "$rc" = 0 ] || fail "graceful: levity exited with $rc after SIGTERM with a dashboard open"
[ "$events_ms" -le 3000 ] ||
  fail "graceful: an open dashboard (GET /api/events) held the shutdown for $events_ms ms"
echo "crash: an open dashboard does not hold the shutdown: exit after $events_ms ms"

status=passed
summary

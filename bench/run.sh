#!/usr/bin/env bash
# `make bench`: levity beside the floor and beside its peers, for issue #7.
#
# Fakes: nginx serving fixed Gemini answers (fast upstream, scenarios 1-2) and
# bench/trickle.py, a Gemini that trickles a chunk every 100 ms for 30 s
# (scenario 3). Targets: the fake directly (baseline), nginx as a plain
# reverse proxy, LiteLLM's proxy, claude-code-router (ccr) and levity, all
# pointed at the same fakes and loaded by wrk:
#   1. a small request, whole answer (OpenAI Chat in; Gemini as is for the
#      fake and nginx; Anthropic Messages for ccr, which takes nothing else);
#   2. the captured 57 KB Claude Code request (Anthropic Messages), streamed;
#   3. STREAMS slow streams at once: peak resident memory and CPU while held;
#   4. streams one at a time from a fake that stamps each chunk with the time
#      it was written (bench/trickle.py STAMP, read by bench/stamps.py):
#      added time to first token and added delay per chunk;
#   5. the small request at CONNS5 (256) connections against a fake that
#      answers after LATENCY ms (20; examples/slow_upstream.rs): throughput
#      beside nginx's, as boards measure gateways against a slow mock.
# Then start time, idle memory and size. Each figure is taken RUNS times;
# bench/report.py writes BENCHMARKS.md with medians, spreads, ratios and the
# issue's targets.
#
# Installs what it needs first (needs root for apt: wrk, nginx; PyPI for
# LiteLLM into bench/.venv; npm for ccr into bench/node_modules), then measures
# inside a network namespace with only loopback (tests/offline.sh), so no peer
# can reach the internet and no load leaves the machine.
#
# Knobs: RUNS (3), DURATION of each wrk run (8s), STREAMS (1000), TRICKLE
# whole seconds each slow stream lasts (30), INTERVAL between its chunks
# (0.1), S3_RUNS (RUNS), SCENARIOS to run ("1 2 3"), PEERS to compare
# ("litellm ccr"), LITELLM_WORKERS (cores), STAMPED streams each target
# opens in scenario 4 (40), LATENCY of scenario 5's fake in ms (20) and its
# CONNS5 (256), SKIP_BUILD=1 to use
# target/release/levity (and the example) as they are, OUT to write elsewhere than BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
DURATION=${DURATION:-8s}
STREAMS=${STREAMS:-1000}
TRICKLE=${TRICKLE:-30}
INTERVAL=${INTERVAL:-0.1}
S3_RUNS=${S3_RUNS:-$RUNS}
SCENARIOS=${SCENARIOS:-1 2 3 4 5}
STAMPED=${STAMPED:-40}
LATENCY=${LATENCY:-20}
CONNS5=${CONNS5:-256}
PEERS=${PEERS:-litellm ccr portkey}
LITELLM_WORKERS=${LITELLM_WORKERS:-$(nproc)}
CCR=bench/node_modules/@musistudio/claude-code-router/dist/cli.js
PORTKEY=bench/node_modules/@portkey-ai/gateway/build/start-server.js
has() { [[ " $1 " == *" $2 "* ]]; } # list word

if [ -z "${BENCH_OFFLINE:-}" ]; then
  # ---- Phase 1, with the network: install and build. -----------------------
  need=()
  command -v wrk >/dev/null || need+=(wrk)
  command -v nginx >/dev/null || need+=(nginx)
  command -v redis-server >/dev/null || need+=(redis-server)
  # Debian's python3 makes venvs only with python3-venv.
  has "$PEERS" litellm && ! python3 -c 'import ensurepip' 2>/dev/null && need+=(python3-venv)
  if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  if has "$PEERS" litellm && [ ! bench/.venv/.installed -nt bench/requirements.txt ]; then
    python3 -m venv bench/.venv
    bench/.venv/bin/pip install --quiet --disable-pip-version-check -r bench/requirements.txt
    touch bench/.venv/.installed
  fi
  if { has "$PEERS" ccr || has "$PEERS" portkey; } && [ ! bench/node_modules/.installed -nt bench/package-lock.json ]; then
    (cd bench && npm ci --no-audit --no-fund --loglevel=error)
    touch bench/node_modules/.installed
  fi
  # Scenario 5's fake is built with levity's own release dependencies.
  [ -n "${SKIP_BUILD:-}" ] || { make build >/dev/null && cargo build --release --quiet --example slow_upstream; }
  [ -x target/release/levity ] || { echo "bench: no target/release/levity (make build)" >&2; exit 1; }
  ! has "$SCENARIOS" 5 || [ -x target/release/examples/slow_upstream ] ||
    { echo "bench: no target/release/examples/slow_upstream (cargo build --release --example slow_upstream)" >&2; exit 1; }
  # ---- Phase 2, offline: this script again, in its own network namespace. --
  export BENCH_OFFLINE=1
  exec tests/offline.sh "$0" "$@"
fi

# Every slow stream holds a socket on each side of each hop.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d)
# nginx workers run unprivileged and must read the fake answers.
chmod 755 "$work"
# A copy: a rebuild in target/ while this runs must not change what is measured.
bin="$work/levity"
cp target/release/levity "$bin"
has "$SCENARIOS" 5 && cp target/release/examples/slow_upstream "$work/"
# On disk before anything is timed: otherwise the first fsync of a start
# (levity's data file) waits for ext4 to write the fresh 14 MB copy out
# (start to ready 68 ms, against 21 ms after `sync`; 2026-12-07).
sync

# Every process this script starts is stopped with all its children (LiteLLM's
# workers), and waited for, so the next one finds its port free.
tree() { # pid -> it and its descendants
  echo "$1"
  local c
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do tree "$c"; done
}
stop() { # pid
  local pids p i
  pids=$(tree "$1")
  kill $pids 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  for p in $pids; do
    for i in $(seq 250); do kill -0 "$p" 2>/dev/null || break; sleep 0.02; done
    kill -9 "$p" 2>/dev/null || true
  done
}
cleanup() {
  local p c
  for p in $(jobs -p); do stop "$p"; done
  for c in "$work"/nginx*.conf; do [ -e "$c" ] && { nginx -s stop -c "$c" 2>/dev/null || true; }; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

UP=18901 NGX=18902 LEV=18903 LIT=18904 CCRP=18905 TRK=18906 NGX3=18907 RDS=18908 LEV2=18909 PKP=18910
SLW=18911 NGX5=18912
results="$work/results.tsv"
: >"$results"
rec() { printf '%s\t%s\t%s\n' "$@" >>"$results"; } # target metric value

# ---- Fakes and the bodies sent. -----------------------------------------------
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
answer = {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hello! How can I help you today?"}]}, "finishReason": "STOP"}],
          "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 9, "totalTokenCount": 21}, "modelVersion": "gemini-2.5-flash", "responseId": "bench"}
open(f"{work}/answer.json", "w").write(json.dumps(answer))
chunks = []
for i in range(50):
    c = {"candidates": [{"content": {"role": "model", "parts": [{"text": f"word{i} "}]}}], "modelVersion": "gemini-2.5-flash", "responseId": "bench"}
    if i == 49:
        c["candidates"][0]["finishReason"] = "STOP"
        c["usageMetadata"] = {"promptTokenCount": 12, "candidatesTokenCount": 50, "totalTokenCount": 62}
    chunks.append("data: " + json.dumps(c) + "\r\n\r\n")
open(f"{work}/stream.sse", "w").write("".join(chunks))
# LiteLLM turns Anthropic cache_control into Gemini context caching: it lists
# cachedContents, creates one, then generates. One answer serves both calls
# (an empty list, then the created cache's name).
open(f"{work}/cache.json", "w").write(json.dumps({"cachedContents": [], "name": "cachedContents/bench"}))
PY
# An nginx of one worker at $2 proxying to the upstream at $3 over $4
# keep-alive connections, with more server blocks in $5; its files are
# $work/$1.{conf,pid}.
nginx_proxy() { # name port upstream-port keepalive [servers]
  cat >"$work/$1.conf" <<NGINX
worker_processes 1;
pid $work/$1.pid;
error_log $work/$1-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  upstream up { server 127.0.0.1:$3; keepalive $4; }
  server {
    listen 127.0.0.1:$2;
    # Scenario 2's 57 KB body kept in memory, as one sets nginx for bodies
    # this size; its 16 KB default writes each to a temporary file.
    client_body_buffer_size 128k;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
${5:-}
}
NGINX
}
# The fake upstream is this nginx's own server block.
nginx_proxy nginx $NGX $UP 64 "  server {
    listen 127.0.0.1:$UP;
    location ~ :generateContent { default_type application/json; alias $work/answer.json; error_page 405 =200 \$uri; }
    location ~ :streamGenerateContent { default_type text/event-stream; alias $work/stream.sse; error_page 405 =200 \$uri; }
    location ~ :cachedContents { default_type application/json; alias $work/cache.json; error_page 405 =200 \$uri; }
  }"
# Scenario 3's nginx: its own process (so its memory is the streams'), passing
# each chunk on as it comes, as one configures nginx for server-sent events.
cat >"$work/nginx3.conf" <<NGINX
worker_processes 1;
worker_rlimit_nofile $((4 * STREAMS + 1024));
pid $work/nginx3.pid;
error_log $work/nginx3-error.log;
events { worker_connections $((4 * STREAMS + 1024)); }
http {
  access_log off;
  server {
    listen 127.0.0.1:$NGX3;
    client_body_buffer_size 128k;
    location / { proxy_pass http://127.0.0.1:$TRK; proxy_http_version 1.1; proxy_buffering off; proxy_read_timeout 300s; }
  }
}
NGINX
nginx -c "$work/nginx.conf"

G="/v1beta/models/gemini-2.5-flash"
echo '{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hello there"}]}' >"$work/chat.json"
echo '{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"hello there"}]}' >"$work/chat-stream.json"
echo '{"model":"gemini-2.5-flash","max_tokens":256,"messages":[{"role":"user","content":"hello there"}]}' >"$work/anth.json"
echo '{"model":"gemini-2.5-flash","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"hello there"}]}' >"$work/anth-stream.json"
echo '{"contents":[{"role":"user","parts":[{"text":"hello there"}]}]}' >"$work/gem.json"
python3 -c 'import json; b=json.load(open("tests/fixtures/claude-code/01_print_mode_say_hi_stream.json"))["body"]; b["model"]="gemini-2.5-flash"; print(json.dumps(b))' >"$work/claude.json"

# Credentials each peer insists on (levity needs none on loopback).
LITELLM_KEY=sk-bench-litellm-0000000000000000000000000000
CCR_KEY=sk-bench-ccr
auth() { # target -> header lines, or nothing
  case $1 in
    litellm) echo "authorization: Bearer $LITELLM_KEY" ;;
    ccr) echo "x-api-key: $CCR_KEY" ;;
    # Portkey keeps no provider settings: each request names the provider,
    # the upstream's address and the upstream key (its documented headers).
    portkey) printf '%s\n' "x-portkey-provider: google" \
      "x-portkey-custom-host: http://127.0.0.1:$PK_UP/v1beta" "authorization: Bearer AIzaBENCH-0000000001" ;;
  esac
}
curl_h() { # target -> sets H, curl's arguments for its headers
  H=()
  local line
  while IFS= read -r line; do [ -z "$line" ] || H+=(-H "$line"); done < <(auth "$1")
}
lua() { # body-file target -> wrk script posting that body
  printf 'wrk.method = "POST"\nwrk.headers["content-type"] = "application/json"\n'
  local h
  while IFS= read -r h; do
    [ -z "$h" ] || printf 'wrk.headers["%s"] = "%s"\n' "${h%%: *}" "${h#*: }"
  done < <(auth "$2")
  printf 'local f = io.open("%s"); wrk.body = f:read("*a"); f:close()\n' "$1"
}

# ---- Starting targets: each sets PID, and records start time and idle RSS. ---
rss_kb() { python3 bench/sample.py 0 0 "$1" | cut -d' ' -f1; } # pid, children included
wait_ready() { # label url pid start_ns
  # Polled every 2 ms; LiteLLM takes 10-25 s here, so give up after 2 minutes.
  until curl -s -o /dev/null "$2"; do
    kill -0 "$3" 2>/dev/null || { echo "bench: $1 died at start:" >&2; tail -20 "$work/$1.log" >&2; exit 1; }
    [ $(( ($(date +%s%N) - $4) / 1000000000 )) -lt 120 ] || { echo "bench: $1 not ready after 2 minutes" >&2; exit 1; }
    sleep 0.002
  done
  rec "$1" ready_ms $(( ($(date +%s%N) - $4) / 1000000 ))
  rec "$1" idle_kb "$(rss_kb "$3")"
}
start_levity() { # port upstream-port
  export LEVITY_HOME="$work/levity-home" LEVITY_LOG=warn
  rm -rf "$LEVITY_HOME"
  local t; t=$(date +%s%N)
  "$bin" serve --port "$1" --no-open >"$work/levity.log" 2>&1 &
  PID=$!
  wait_ready levity "http://127.0.0.1:$1/api/status" $PID "$t"
  "$bin" account add gemini --api-key AIzaBENCH-0000000001 --base-url "http://127.0.0.1:$2" >/dev/null
}
# Cluster mode: two instances sharing one Redis (issue #20), each with its
# own data folder; the account and a limit every request leases against are
# added through the first and reach the second through Redis.
start_cluster() { # upstream-port -> sets PID (the measured one) and PID2
  redis-server --port $RDS --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
  RPID=$!
  until redis-cli -p $RDS ping >/dev/null 2>&1; do sleep 0.01; done
  export LEVITY_PASSPHRASE=bench LEVITY_LOG=warn
  local port home pids=()
  for port in $LEV2 $LEV; do
    home="$work/cluster-$port"; rm -rf "$home"
    LEVITY_HOME="$home" "$bin" serve --port "$port" --no-open --redis "redis://127.0.0.1:$RDS/0" >"$work/levity-$port.log" 2>&1 &
    pids+=($!)
    until curl -s -o /dev/null "http://127.0.0.1:$port/api/status"; do sleep 0.01; done
  done
  PID2=${pids[0]} PID=${pids[1]}
  unset LEVITY_PASSPHRASE
  until LEVITY_HOME="$work/cluster-$LEV" "$bin" account list | grep -q '2 instance(s)$'; do sleep 0.05; done
  # A limit of its own, high enough never to refuse: every request leases.
  LEVITY_HOME="$work/cluster-$LEV" "$bin" config set tier_limits.free 100000000/0/0 >/dev/null
  LEVITY_HOME="$work/cluster-$LEV" "$bin" account add gemini --api-key AIzaBENCH-0000000001 --base-url "http://127.0.0.1:$1" >/dev/null
  until LEVITY_HOME="$work/cluster-$LEV2" "$bin" account list | grep -q gemini; do sleep 0.05; done
}

start_litellm() { # port upstream-port
  cat >"$work/litellm.yaml" <<YAML
model_list:
  - model_name: gemini-2.5-flash
    litellm_params:
      model: gemini/gemini-2.5-flash
      api_base: http://127.0.0.1:$2/v1beta   # LiteLLM appends /models/{model}:{method}
      api_key: AIzaBENCH-0000000001
litellm_settings:
  telemetry: false
general_settings:
  master_key: $LITELLM_KEY   # LiteLLM refuses to start without one
YAML
  local t; t=$(date +%s%N)
  # The model cost map is otherwise fetched from the internet at start.
  # LITELLM_LOG=ERROR: its own default is DEBUG. Workers = cores, as its
  # documentation advises (scenario 1: ~135 req/s with 2, ~105 with 1). Its
  # upstream connection pool stops at 500 per host and worker unless told:
  # scenario 3 needs STREAMS.
  LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_LOG=ERROR \
    AIOHTTP_CONNECTOR_LIMIT=$((STREAMS + 100)) AIOHTTP_CONNECTOR_LIMIT_PER_HOST=$((STREAMS + 100)) \
    bench/.venv/bin/litellm --config "$work/litellm.yaml" --host 127.0.0.1 --port "$1" \
    --num_workers "$LITELLM_WORKERS" >"$work/litellm.log" 2>&1 &
  PID=$!
  wait_ready litellm "http://127.0.0.1:$1/health/liveliness" $PID "$t"
}
start_ccr() { # port upstream-port
  # ccr reads ~/.claude-code-router/config.json and writes beside it: a home
  # of its own under $work keeps the real one untouched.
  local home="$work/ccr-home"
  rm -rf "$home"; mkdir -p "$home/.claude-code-router"
  cat >"$home/.claude-code-router/config.json" <<JSON
{
  "LOG": false,
  "HOST": "127.0.0.1",
  "PORT": $1,
  "APIKEY": "$CCR_KEY",
  "Providers": [{
    "name": "fake",
    "api_base_url": "http://127.0.0.1:$2/v1beta/models/",
    "api_key": "AIzaBENCH-0000000001",
    "models": ["gemini-2.5-flash"],
    "transformer": { "use": ["gemini"] }
  }],
  "Router": { "default": "fake,gemini-2.5-flash" }
}
JSON
  local t; t=$(date +%s%N)
  HOME="$home" TMPDIR="$home" node "$CCR" start >"$work/ccr.log" 2>&1 &
  PID=$!
  wait_ready ccr "http://127.0.0.1:$1/health" $PID "$t"
}
start_portkey() { # port upstream-port
  PK_UP=$2
  local t; t=$(date +%s%N)
  # --headless: no web console; NODE_ENV=production: no request logging.
  NODE_ENV=production node "$PORTKEY" --port="$1" --headless >"$work/portkey.log" 2>&1 &
  PID=$!
  wait_ready portkey "http://127.0.0.1:$1/" $PID "$t"
}
stop_nginx() { # conf pid-file: returns once it has exited and freed its ports
  local p; p=$(cat "$2")
  nginx -s stop -c "$1" 2>/dev/null
  while kill -0 "$p" 2>/dev/null; do sleep 0.02; done
}

# ---- Measuring. ---------------------------------------------------------------
# wrk -> "p50_ms p99_ms rps errors"
measure() { # url script connections
  local out
  out=$(wrk -t"$([ "$3" -gt 1 ] && echo 2 || echo 1)" -c"$3" -d"$DURATION" --timeout 30s --latency -s "$2" "$1" 2>&1)
  local p50 p99 rps errs
  p50=$(echo "$out" | awk '/^ +50%/{print $2}'); p99=$(echo "$out" | awk '/^ +99%/{print $2}')
  rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
  # A fast error is not a fast answer: non-2xx and socket errors are counted.
  errs=$(echo "$out" | awk '/Non-2xx/{n+=$NF} /Socket errors/{gsub(/,/,""); n+=$4+$6+$8+$10} END{print n+0}')
  echo "$(to_ms "$p50") $(to_ms "$p99") $rps $errs"
}
to_ms() { python3 -c "import sys,re; v=sys.argv[1]; n=float(re.sub('[a-z]+','',v)); u=re.sub('[0-9.]+','',v); print(round(n*{'us':0.001,'ms':1,'s':1000,'m':60000}[u],3))" "$1"; }
runs() { # target scenario url script conns metric-prefix
  local _ a b c e
  for _ in $(seq "$RUNS"); do
    read -r a b c e < <(measure "$3" "$4" "$5")
    case $6 in
      lat) rec "$1" "s$2_p50" "$a"; rec "$1" "s$2_p99" "$b" ;;
      rps) rec "$1" "s$2_rps" "$c" ;;
    esac
    [ "$e" = 0 ] || rec "$1" "s$2_errors" "$e"
    # A peer's errors are shown in the report; levity's void the measurement.
    [[ $e = 0 || $1 != levity* ]] || { echo "bench: $e errors from $1 at $3" >&2; exit 1; }
  done
}
# Every target must answer properly before it is timed.
check() { # target url body-file expect
  local got; curl_h "$1"
  got=$(curl -s -w '\n%{http_code}' -H 'content-type: application/json' "${H[@]}" --data-binary @"$3" "$2")
  [ "${got##*$'\n'}" = 200 ] && echo "$got" | grep -q "$4" || { echo "bench: $1 at $2 answered: $got" >&2; exit 1; }
}
scenarios12() { # target url1 body1 url2 body2 (url1 empty: no scenario 1)
  local t=$1
  echo "bench: scenarios 1 and 2, $t" >&2
  if [ -n "$2" ] && has "$SCENARIOS" 1; then
    check "$t" "$2" "$3" "How can I help"
    lua "$3" "$t" >"$work/s1.lua"
    runs "$t" 1 "$2" "$work/s1.lua" 1 lat
    runs "$t" 1 "$2" "$work/s1.lua" 64 rps
  fi
  if [ -n "$4" ] && has "$SCENARIOS" 2; then
    check "$t" "$4" "$5" "word49"
    lua "$5" "$t" >"$work/s2.lua"
    runs "$t" 2 "$4" "$work/s2.lua" 1 lat
    runs "$t" 2 "$4" "$work/s2.lua" 16 rps
  fi
}

# Scenario 3: STREAMS streams at once from wrk, plus one from curl whose chunks
# are counted; meanwhile the target's memory, CPU and the streams it holds
# towards the trickling fake are sampled.
scenario3() { # target url body-file pid
  local t=$1; curl_h "$t"
  echo "bench: scenario 3, $t, $STREAMS streams of ${TRICKLE}s" >&2
  lua "$3" "$t" >"$work/s3.lua"
  # Long enough for every stream to finish even if the target was slow to
  # open them all (a third more); the connections' second requests are cut
  # off at the end.
  wrk -t2 -c"$STREAMS" -d"$((TRICKLE + (TRICKLE / 3 > 2 ? TRICKLE / 3 : 2)))s" --timeout "$((TRICKLE * 3))s" --latency \
    -s "$work/s3.lua" "$2" >"$work/s3-wrk.txt" 2>&1 &
  local wrk_pid=$!
  curl -sN -H 'content-type: application/json' "${H[@]}" --data-binary @"$3" "$2" >"$work/s3-one.txt" &
  local curl_pid=$!
  local rss cpu held
  read -r rss cpu held < <(python3 bench/sample.py "$((TRICKLE - 1))" "$TRK" "$4")
  wait $wrk_pid $curl_pid || true
  rec "$t" s3_rss_kb "$rss"; rec "$t" s3_cpu "$cpu"; rec "$t" s3_held "$held"
  local done; done=$(awk '/requests in/{print $1}' "$work/s3-wrk.txt")
  rec "$t" s3_done "$done"
  # wrk's latency here is each stream's length; none if none finished in time.
  [ "$done" = 0 ] || rec "$t" s3_len_s "$(to_ms "$(awk '/^ +50%/{print $2}' "$work/s3-wrk.txt")" | awk '{print $1/1000}')"
  rec "$t" s3_chunks "$(grep -o 'word[0-9]*' "$work/s3-one.txt" | wc -l)"
  local e; e=$(awk '/Non-2xx/{n+=$NF} /Socket errors/{gsub(/,/,""); n+=$4+$6+$8+$10} END{print n+0}' "$work/s3-wrk.txt")
  [ "$e" = 0 ] || rec "$t" s3_errors "$e"
}
start_trickle() {
  python3 bench/trickle.py $TRK "$INTERVAL" "$TRICKLE" 2>"$work/trickle.log" &
  TRICKLE_PID=$!
  until curl -s -o /dev/null -d '{}' "http://127.0.0.1:$TRK$G:generateContent"; do sleep 0.01; done
}

has_peer() { has "$PEERS" "$1"; }
# Each peer in turn, freshly started against the upstream on port $2, is
# measured by `$1 TARGET URL BODY-FILE` with the request it takes (LiteLLM and
# Portkey OpenAI Chat, ccr Anthropic Messages), streamed when $3 is -stream.
each_peer() { # measure-function upstream-port body-suffix
  if has_peer litellm; then
    start_litellm $LIT "$2"; "$1" litellm "http://127.0.0.1:$LIT/v1/chat/completions" "$work/chat$3.json"; stop $PID
  fi
  if has_peer ccr; then
    start_ccr $CCRP "$2"; "$1" ccr "http://127.0.0.1:$CCRP/v1/messages" "$work/anth$3.json"; stop $PID
  fi
  if has_peer portkey; then
    start_portkey $PKP "$2"; "$1" portkey "http://127.0.0.1:$PKP/v1/chat/completions" "$work/chat$3.json"; stop $PID
  fi
}
# Scenario 3 also samples the target's process.
held() { scenario3 "$1" "$2" "$3" "$PID"; }

# ---- Scenarios 1 and 2. ------------------------------------------------------
if has "$SCENARIOS" 1 || has "$SCENARIOS" 2; then
# Every target of scenario 2 is sent the same 57 KB body: the fake reads
# and drops it, nginx passes it on untouched.
scenarios12 upstream "http://127.0.0.1:$UP$G:generateContent" "$work/gem.json" \
  "http://127.0.0.1:$UP$G:streamGenerateContent?alt=sse" "$work/claude.json"
scenarios12 nginx "http://127.0.0.1:$NGX$G:generateContent" "$work/gem.json" \
  "http://127.0.0.1:$NGX$G:streamGenerateContent?alt=sse" "$work/claude.json"
if has_peer litellm; then
  start_litellm $LIT $UP
  scenarios12 litellm "http://127.0.0.1:$LIT/v1/chat/completions" "$work/chat.json" \
    "http://127.0.0.1:$LIT/v1/messages" "$work/claude.json"
  rec litellm busy_kb "$(rss_kb $PID)"; stop $PID
fi
if has_peer ccr; then
  start_ccr $CCRP $UP
  scenarios12 ccr "http://127.0.0.1:$CCRP/v1/messages" "$work/anth.json" \
    "http://127.0.0.1:$CCRP/v1/messages" "$work/claude.json"
  rec ccr busy_kb "$(rss_kb $PID)"; stop $PID
fi
if has_peer portkey; then
  # Portkey's /v1/messages takes Anthropic upstreams only ("messages is not
  # supported by google"): no scenario 2.
  start_portkey $PKP $UP
  scenarios12 portkey "http://127.0.0.1:$PKP/v1/chat/completions" "$work/chat.json" "" ""
  rec portkey busy_kb "$(rss_kb $PID)"; stop $PID
fi
start_levity $LEV $UP
scenarios12 levity "http://127.0.0.1:$LEV/v1/chat/completions" "$work/chat.json" \
  "http://127.0.0.1:$LEV/v1/messages" "$work/claude.json"
# The same small request as Anthropic Messages, beside ccr's.
scenarios12 levity-anthropic "http://127.0.0.1:$LEV/v1/messages" "$work/anth.json" "" ""
rec levity busy_kb "$(rss_kb $PID)"
# Memory given back after the load: resident a minute after it stopped.
sleep 60
rec levity after_kb "$(rss_kb $PID)"; stop $PID
if has "$SCENARIOS" 1; then
  start_cluster $UP
  scenarios12 levity-cluster "http://127.0.0.1:$LEV/v1/chat/completions" "$work/chat.json" "" ""
  stop $PID; stop $PID2; stop $RPID
fi
fi
stop_nginx "$work/nginx.conf" "$work/nginx.pid"

# ---- Scenario 3, a fresh fake and a fresh target every run. ------------------
has "$SCENARIOS" 3 || S3_RUNS=0
for _ in $(seq "$S3_RUNS"); do
  start_trickle
  scenario3 upstream "http://127.0.0.1:$TRK$G:streamGenerateContent?alt=sse" "$work/gem.json" $TRICKLE_PID
  t=$(date +%s%N)
  nginx -c "$work/nginx3.conf"
  until curl -s -o /dev/null "http://127.0.0.1:$NGX3/"; do sleep 0.002; done
  rec nginx ready_ms $(( ($(date +%s%N) - t) / 1000000 ))
  rec nginx idle_kb "$(rss_kb "$(cat "$work/nginx3.pid")")"
  scenario3 nginx "http://127.0.0.1:$NGX3$G:streamGenerateContent?alt=sse" "$work/gem.json" "$(cat "$work/nginx3.pid")"
  stop_nginx "$work/nginx3.conf" "$work/nginx3.pid"
  each_peer held $TRK -stream
  start_levity $LEV $TRK
  scenario3 levity "http://127.0.0.1:$LEV/v1/chat/completions" "$work/chat-stream.json" $PID
  stop $PID
  stop $TRICKLE_PID
done

# ---- Scenario 4: stamped chunks, one stream at a time. -------------------------
# 50 chunks 5 ms apart; every target streams from the same stamping fake.
stamped() { # target url body-file: RUNS runs
  local h ttft chunk _; h=$(auth "$1")
  echo "bench: scenario 4, $1" >&2
  for _ in $(seq "$RUNS"); do
    read -r ttft chunk < <(python3 bench/stamps.py "$2" "$3" "$STAMPED" "$h")
    rec "$1" s4_ttft_us "$ttft"; rec "$1" s4_chunk_us "$chunk"
  done
}
if has "$SCENARIOS" 4; then
  python3 bench/trickle.py $TRK 0.005 0.25 STAMP 2>"$work/trickle.log" &
  TRICKLE_PID=$!
  until curl -s -o /dev/null -d '{}' "http://127.0.0.1:$TRK$G:generateContent"; do sleep 0.01; done
  stamped upstream "http://127.0.0.1:$TRK$G:streamGenerateContent?alt=sse" "$work/gem.json"
  # The heavy row's references: the fake and nginx sent the same 57 KB body.
  stamped upstream-57k "http://127.0.0.1:$TRK$G:streamGenerateContent?alt=sse" "$work/claude.json"
  nginx -c "$work/nginx3.conf"
  until curl -s -o /dev/null "http://127.0.0.1:$NGX3/"; do sleep 0.002; done
  stamped nginx "http://127.0.0.1:$NGX3$G:streamGenerateContent?alt=sse" "$work/gem.json"
  stamped nginx-57k "http://127.0.0.1:$NGX3$G:streamGenerateContent?alt=sse" "$work/claude.json"
  stop_nginx "$work/nginx3.conf" "$work/nginx3.pid"
  each_peer stamped $TRK -stream
  start_levity $LEV $TRK
  stamped levity "http://127.0.0.1:$LEV/v1/chat/completions" "$work/chat-stream.json"
  # The heavy path: the captured 57 KB Claude Code request, translated.
  stamped levity-anthropic "http://127.0.0.1:$LEV/v1/messages" "$work/claude.json"
  stop $PID
  stop $TRICKLE_PID
fi

# ---- Scenario 5: a slow upstream, many connections. ---------------------------
# Every target passes the small request to a fake that answers after LATENCY
# ms; nginx keeps as many upstream connections alive as there are clients.
nginx_proxy nginx5 $NGX5 $SLW "$CONNS5"
slow() { # target url body-file
  local t=$1 _ a b c e
  echo "bench: scenario 5, $t" >&2
  check "$t" "$2" "$3" "How can I help"
  lua "$3" "$t" >"$work/s5.lua"
  for _ in $(seq "$RUNS"); do
    read -r a b c e < <(measure "$2" "$work/s5.lua" "$CONNS5")
    rec "$t" s5_p50 "$a"; rec "$t" s5_p99 "$b"; rec "$t" s5_rps "$c"
    [ "$e" = 0 ] || rec "$t" s5_errors "$e"
    [[ $e = 0 || $t != levity* ]] || { echo "bench: $e errors from $t at $2" >&2; exit 1; }
  done
}
if has "$SCENARIOS" 5; then
  "$work/slow_upstream" $SLW "$LATENCY" "$work/answer.json" 2>"$work/slow.log" &
  SLOW_PID=$!
  until curl -s -o /dev/null -d '{}' "http://127.0.0.1:$SLW$G:generateContent"; do sleep 0.01; done
  slow upstream "http://127.0.0.1:$SLW$G:generateContent" "$work/gem.json"
  nginx -c "$work/nginx5.conf"
  slow nginx "http://127.0.0.1:$NGX5$G:generateContent" "$work/gem.json"
  stop_nginx "$work/nginx5.conf" "$work/nginx5.pid"
  each_peer slow $SLW ""
  start_levity $LEV $SLW
  slow levity "http://127.0.0.1:$LEV/v1/chat/completions" "$work/chat.json"
  stop $PID
  stop $SLOW_PID
fi

# ---- Sizes, versions, and the report. ----------------------------------------
rec levity size_b "$(stat -c %s "$bin")"
rec nginx size_b "$(stat -c %s "$(command -v nginx)")"
has_peer litellm && rec litellm size_b "$(du -sb bench/.venv | cut -f1)"
has_peer ccr && rec ccr size_b "$(du -sb bench/node_modules/@musistudio | cut -f1)"
# ccr bundles its dependencies; everything else in bench/node_modules is Portkey's.
has_peer portkey && rec portkey size_b "$(( $(du -sb bench/node_modules | cut -f1) - $(du -sb bench/node_modules/@musistudio | cut -f1) ))"
export RUNS DURATION STREAMS TRICKLE INTERVAL S3_RUNS LITELLM_WORKERS STAMPED LATENCY CONNS5
export BENCH_CPU="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" BENCH_CORES="$(nproc)"
export V_NGINX="$(nginx -v 2>&1 | sed 's|.*/||')" V_LEVITY="$("$bin" --version | sed 's/^levity //')"
has_peer litellm && export V_LITELLM="$(bench/.venv/bin/pip show litellm 2>/dev/null | awk '/^Version/{print $2}')"
has_peer portkey && export V_PORTKEY="$(node -p "require('./bench/node_modules/@portkey-ai/gateway/package.json').version")"
has_peer ccr && export V_CCR="$(node -p "require('./bench/node_modules/@musistudio/claude-code-router/package.json').version")"
python3 bench/report.py "$results" "${OUT:-BENCHMARKS.md}" BENCHMARKS.md
cat "${OUT:-BENCHMARKS.md}"

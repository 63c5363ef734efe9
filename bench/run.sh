#!/usr/bin/env bash
# `make bench`: levity beside the floor. A fast fake upstream (nginx serving
# fixed Gemini answers), the upstream directly (baseline), nginx as a plain
# reverse proxy, and levity translating OpenAI Chat / Anthropic to Gemini,
# under the same load from wrk; then levity's memory, start time and size.
# Writes BENCHMARKS.md. Needs root for apt (wrk, nginx). Runs 3 times per
# figure and reports the median and the spread.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
DURATION=${DURATION:-8s}
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi
make build >/dev/null
bin=target/release/levity
work=$(mktemp -d)
# nginx workers run unprivileged and must read the fake answers.
chmod 755 "$work"
trap 'kill $(jobs -p) 2>/dev/null || true; nginx -s stop -c "$work/nginx.conf" 2>/dev/null || true; rm -rf "$work"' EXIT

UP=18901; NGX=18902; LEV=18903
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
PY
cat > "$work/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  upstream fake { server 127.0.0.1:$UP; keepalive 64; }
  server {
    listen 127.0.0.1:$UP;
    location ~ :generateContent { default_type application/json; alias $work/answer.json; error_page 405 =200 \$uri; }
    location ~ :streamGenerateContent { default_type text/event-stream; alias $work/stream.sse; error_page 405 =200 \$uri; }
  }
  server {
    listen 127.0.0.1:$NGX;
    location / { proxy_pass http://fake; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGINX
nginx -c "$work/nginx.conf"

# levity on a fresh folder, one Gemini account on the fake.
export LEVITY_HOME="$work/levity" LEVITY_LOG=warn
start_ns=$(date +%s%N)
$bin serve --port $LEV --no-open >"$work/levity.log" 2>&1 &
until curl -sf "http://127.0.0.1:$LEV/api/status" >/dev/null; do sleep 0.002; done
ready_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
pid=$(pgrep -f "levity serve --port $LEV" | head -1)
idle_kb=$(ps -o rss= -p "$pid" | tr -d ' ')
$bin account add gemini --api-key AIzaBENCH-0000000001 --base-url "http://127.0.0.1:$UP" >/dev/null

small_chat='{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hello there"}]}'
small_gemini='{"contents":[{"role":"user","parts":[{"text":"hello there"}]}]}'
claude=$(python3 -c 'import json; b=json.load(open("tests/fixtures/claude-code/01_print_mode_say_hi_stream.json"))["body"]; b["model"]="gemini-2.5-flash"; print(json.dumps(b))')
lua() { # body file -> wrk script
  printf 'wrk.method = "POST"\nwrk.headers["content-type"] = "application/json"\nlocal f = io.open("%s"); wrk.body = f:read("*a"); f:close()\n' "$1"
}
echo "$small_chat" > "$work/chat.json"; lua "$work/chat.json" > "$work/chat.lua"
echo "$small_gemini" > "$work/gem.json"; lua "$work/gem.json" > "$work/gem.lua"
echo "$claude" > "$work/claude.json"; lua "$work/claude.json" > "$work/claude.lua"

# wrk → "p50_ms p99_ms rps"
measure() { # url script connections
  local out; out=$(wrk -t"$([ "$3" -gt 1 ] && echo 2 || echo 1)" -c"$3" -d"$DURATION" --latency -s "$2" "$1" 2>&1)
  # A fast error is not a fast answer.
  if echo "$out" | grep -q "Non-2xx"; then echo "bench: errors from $1:" >&2; echo "$out" >&2; exit 1; fi
  local p50 p99 rps
  p50=$(echo "$out" | awk '/^ +50%/{print $2}'); p99=$(echo "$out" | awk '/^ +99%/{print $2}')
  rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
  echo "$(to_ms "$p50") $(to_ms "$p99") $rps"
}
to_ms() { python3 -c "import sys,re; v=sys.argv[1]; n=float(re.sub('[a-z]+','',v)); u=re.sub('[0-9.]+','',v); print(round(n*{'us':0.001,'ms':1,'s':1000}[u],3))" "$1"; }
median() { python3 -c "import sys,statistics; xs=[float(x) for x in sys.argv[1:]]; print(f'{statistics.median(xs):g} (±{(max(xs)-min(xs))/2:g})')" "$@"; }
runs() { # label url script conns -> sets R_P50 R_P99 R_RPS
  local p50s=() p99s=() rpss=()
  for _ in $(seq "$RUNS"); do read -r a b c < <(measure "$2" "$3" "$4"); p50s+=("$a"); p99s+=("$b"); rpss+=("$c"); done
  R_P50=$(median "${p50s[@]}"); R_P99=$(median "${p99s[@]}"); R_RPS=$(median "${rpss[@]}")
}

G="/v1beta/models/gemini-2.5-flash"
# Every target must answer properly before it is timed.
check() { # url body-file expect
  local got; got=$(curl -s -w '\n%{http_code}' -H 'content-type: application/json' --data-binary @"$2" "$1")
  [ "${got##*$'\n'}" = 200 ] && echo "$got" | grep -q "$3" || { echo "bench: $1 answered: $got" >&2; exit 1; }
}
check "http://127.0.0.1:$UP$G:generateContent" "$work/gem.json" "How can I help"
check "http://127.0.0.1:$NGX$G:generateContent" "$work/gem.json" "How can I help"
check "http://127.0.0.1:$LEV/v1/chat/completions" "$work/chat.json" "How can I help"
check "http://127.0.0.1:$LEV/v1/messages" "$work/claude.json" "word49"
declare -A RES
for target in upstream nginx levity; do
  case $target in
    upstream) u1="http://127.0.0.1:$UP$G:generateContent"; s1="$work/gem.lua"; u2="http://127.0.0.1:$UP$G:streamGenerateContent?alt=sse"; s2="$work/gem.lua" ;;
    nginx) u1="http://127.0.0.1:$NGX$G:generateContent"; s1="$work/gem.lua"; u2="http://127.0.0.1:$NGX$G:streamGenerateContent?alt=sse"; s2="$work/gem.lua" ;;
    levity) u1="http://127.0.0.1:$LEV/v1/chat/completions"; s1="$work/chat.lua"; u2="http://127.0.0.1:$LEV/v1/messages"; s2="$work/claude.lua" ;;
  esac
  runs "$target" "$u1" "$s1" 1;  RES[$target,lat]="$R_P50 | $R_P99"
  runs "$target" "$u1" "$s1" 64; RES[$target,rps]="$R_RPS"
  runs "$target" "$u2" "$s2" 1;  RES[$target,stream_lat]="$R_P50 | $R_P99"
  runs "$target" "$u2" "$s2" 16; RES[$target,stream_rps]="$R_RPS"
done
busy_kb=$(ps -o rss= -p "$pid" | tr -d ' ')
size=$(stat -c %s "$bin")
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')

{
  echo "# Benchmarks"
  echo
  echo "Produced by \`make bench\` (bench/run.sh) on $(date -u +%Y-%m-%d): $(nproc) cores, $cpu."
  echo "Each figure is the median of $RUNS runs of wrk for $DURATION (± half the spread). Load generator,"
  echo "fake upstream (nginx serving fixed answers) and the system under test share the same cores,"
  echo "so absolute numbers are pessimistic; compare the columns."
  echo
  echo "## 1. Small request, whole answer (levity: OpenAI Chat → Gemini; others: Gemini as is)"
  echo
  echo "| target | p50 ms (1 conn) | p99 ms (1 conn) | req/s (64 conns) |"
  echo "| --- | --- | --- | --- |"
  for t in upstream nginx levity; do echo "| $t | ${RES[$t,lat]} | ${RES[$t,rps]} |"; done
  echo
  echo "## 2. Streamed answer, 50 chunks (levity: the captured 57 KB Claude Code request → Gemini)"
  echo
  echo "| target | p50 ms to last byte (1 conn) | p99 ms | req/s (16 conns) |"
  echo "| --- | --- | --- | --- |"
  for t in upstream nginx levity; do echo "| $t | ${RES[$t,stream_lat]} | ${RES[$t,stream_rps]} |"; done
  echo
  echo "## 4. levity itself"
  echo
  echo "| figure | value |"
  echo "| --- | --- |"
  echo "| start to ready | $ready_ms ms |"
  echo "| resident memory, idle after start | $((idle_kb / 1024)) MB |"
  echo "| resident memory after the load above | $((busy_kb / 1024)) MB |"
  echo "| binary size (dashboard included, glibc build) | $((size / 1024 / 1024)) MB |"
  echo
  echo "Translation alone (criterion, \`cargo bench --bench translate\`): see the closing notes; the"
  echo "Claude Code request to Gemini takes about 0.19 ms here."
  echo
  echo "Not measured yet: LiteLLM and claude-code-router beside these, and scenario 3 (1,000 slow"
  echo "streams)."
} > BENCHMARKS.md
cat BENCHMARKS.md

#!/usr/bin/env bash
# How long levity works on a request before it calls the upstream: from its
# last read of the client's request to its write of the upstream request,
# timed by the kernel's syscall tracepoints (`perf trace`, no ptrace), for
# streams sent one after another by bench/stamps.py.
#
#   bench/request_gap.sh PID URL BODY-FILE STREAMS [HEADERS]
#
# PID is levity's; URL a streaming route of it, in front of bench/trickle.py
# in STAMP mode. Prints "n p25 p50 p75" in µs. Needs perf and the right to
# trace PID (root, or kernel.perf_event_paranoid <= -1). Used for
# BENCHMARKS.md's "Where the 402 µs beyond nginx go".
set -euo pipefail
[ $# -ge 4 ] || { sed -n 2,12p "$0" >&2; exit 2; }
pid=$1 url=$2 body=$3 streams=$4 headers=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
trace=$(mktemp)
trap 'rm -f "$trace"' EXIT
python3 "$here/stamps.py" "$url" "$body" 3 "$headers" >/dev/null # warm
perf trace -p "$pid" -e recvfrom,writev -o "$trace" 2>/dev/null &
tracer=$!
sleep 1 # perf trace attaches
python3 "$here/stamps.py" "$url" "$body" "$streams" "$headers" >/dev/null
kill -INT "$tracer"
wait "$tracer" || true
# levity peeks at each new connection's first bytes: that names the
# client's socket. Its last read before a write to another socket ends the
# request; that write is the upstream call.
awk '
  function fd(line) { match(line, /fd: [0-9]+/); return substr(line, RSTART + 4, RLENGTH - 4) }
  /recvfrom\(/ && /PEEK/ { client = fd($0); read = 0; next }
  /recvfrom\(/ && client != "" && fd($0) == client { read = $1 }
  /writev\(/ && read && fd($0) != client { printf "%d\n", ($1 - read) * 1000; read = 0; client = "" }
' "$trace" | sort -n | awk '
  { v[NR] = $1 }
  END { if (!NR) { print "request_gap: no request seen" > "/dev/stderr"; exit 1 }
        print NR, v[int((NR + 3) / 4)], v[int((NR + 1) / 2)], v[int((3 * NR + 3) / 4)] }'

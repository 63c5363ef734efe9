#!/usr/bin/env bash
# Run the real Claude Code CLI (`claude -p`) once against an Anthropic-compatible server
# (levity) and print what it prints.
#
#   usage: tests/clients/claude_code.sh BASE_URL API_KEY PROMPT [extra claude args...]
#   e.g.:  tests/clients/claude_code.sh http://127.0.0.1:8080 sk-test "say hi"
#          tests/clients/claude_code.sh http://127.0.0.1:8080 sk-test "run echo" --allowedTools "Bash(echo:*)"
#          tests/clients/claude_code.sh http://127.0.0.1:8080 sk-test "say hi" --model claude-sonnet-5-5 --output-format json
#
# Install first (pinned in package.json/package-lock.json; with Codex CLI: ~12 s, ~810 MB):
#   (cd tests/clients && npm ci --no-audit --no-fund)
#
# Stdout: claude's stdout. Stderr: claude's stderr plus a line from this script on failure.
# Exit status: claude's (0 ok, 1 API error / max turns / bad flag), 124 on timeout,
# 2 on usage or install problems, 3 when claude exited 0 but printed nothing.
# NB: claude prints API errors ("API Error: 500 ...") on STDOUT, not stderr, and exits 1.
#
# Isolation. This script does not make a network namespace; run the whole test (levity and
# this script) inside one, so nothing can leave the machine:
#   unshare -n bash -c 'ip link set lo up; ./target/debug/levity --port 18080 & sleep 1;
#                       tests/clients/claude_code.sh http://127.0.0.1:18080 sk-test "say hi"'
# (needs root, or `unshare -rn` as a user; `lo` is down in a fresh namespace until brought up).
# Even without it, the environment below makes Claude Code 2.1.332 connect to nothing but
# BASE_URL (checked with strace: one connect(), to the base URL; without
# CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC/DISABLE_TELEMETRY it does DNS look-ups for its own
# hosts and sends `HEAD /api/hello` to BASE_URL first).
#
# What it does: a throwaway HOME and working directory (so no ~/.claude settings, CLAUDE.md or
# project files leak in), a scrubbed environment (`env -i`: the caller's ANTHROPIC_* /
# CLAUDE_CODE_* variables never reach claude), stdin from /dev/null, and a hard timeout.
#
# Knobs (environment variables of this script):
#   CLAUDE_BIN            claude binary (default: node_modules/.bin/claude beside this script)
#   CLAUDE_TIMEOUT        seconds before the run is killed (default 120)
#   CLAUDE_MAX_RETRIES    -> CLAUDE_CODE_MAX_RETRIES (default 0: a gateway error fails at once;
#                         claude's own default is 10 with backoff, >3 min on a persistent 5xx/401)
#   CLAUDE_API_TIMEOUT_MS -> API_TIMEOUT_MS, per-request timeout (default 60000)
#   CLAUDE_AUTH           "x-api-key" (default: ANTHROPIC_API_KEY, sent as x-api-key) or
#                         "bearer" (ANTHROPIC_AUTH_TOKEN, sent as Authorization: Bearer)
#   CLAUDE_STREAM_FALLBACK  set to 1 to allow claude's silent retry with stream:false after a
#                         broken SSE stream (default off, so streaming bugs fail the test)
#   CLAUDE_WORKDIR        working directory for claude (default: a fresh empty temp dir)
#   CLAUDE_EXTRA_ENV      extra "NAME=value" words passed to claude (word-split)
#   CLAUDE_KEEP_HOME      set to 1 to keep the temp HOME (session transcript in
#                         $HOME/.claude/projects/*/*.jsonl) and print its path on stderr
#   CLAUDE_HOME_DIR       use (and keep) this folder as HOME, so a later run in the same
#                         CLAUDE_WORKDIR can go on with --continue or --resume SESSION_ID
#
# Flags that matter (Claude Code 2.1.332):
#   -p PROMPT is print mode: no onboarding, trust dialog or API-key prompt; nothing else is needed.
#   Tools: read-only Bash commands such as `echo` run without permission; anything that writes
#   (touch, `>`) is refused (tool_result is_error:true, exit 0) unless allowed, e.g.
#   --allowedTools "Bash(touch:*)" or --permission-mode acceptEdits. As root,
#   --dangerously-skip-permissions / --permission-mode bypassPermissions exit 1 unless
#   CLAUDE_EXTRA_ENV=IS_SANDBOX=1. --max-turns N counts model requests (a tool round trip is 2).
#   --model sonnet|opus|haiku map to claude-{sonnet,opus,haiku}-5-5; any other name is sent as is.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ $# -lt 3 ]; then
  echo "usage: $0 BASE_URL API_KEY PROMPT [extra claude args...]" >&2
  exit 2
fi
base_url=$1 api_key=$2 prompt=$3
shift 3

bin=${CLAUDE_BIN:-$here/node_modules/.bin/claude}
# If npm ran without install scripts, bin/claude.exe is only a stub: use the platform package.
if [ -z "${CLAUDE_BIN:-}" ] && ! "$bin" --version >/dev/null 2>&1; then
  for alt in "$here"/node_modules/@anthropic-ai/claude-code-linux-*/claude; do
    [ -x "$alt" ] && bin=$alt && break
  done
fi
if ! [ -x "$bin" ]; then
  echo "claude_code.sh: no claude binary at $bin; run: (cd $here && npm ci --no-audit --no-fund)" >&2
  exit 2
fi

case "${CLAUDE_AUTH:-x-api-key}" in
  bearer) auth_env="ANTHROPIC_AUTH_TOKEN=$api_key" ;;
  x-api-key) auth_env="ANTHROPIC_API_KEY=$api_key" ;;
  *) echo "claude_code.sh: CLAUDE_AUTH must be x-api-key or bearer" >&2; exit 2 ;;
esac

if [ -n "${CLAUDE_HOME_DIR:-}" ]; then
  tmp_home=$CLAUDE_HOME_DIR
  mkdir -p "$tmp_home"
else
  tmp_home=$(mktemp -d "${TMPDIR:-/tmp}/levity-claude-home.XXXXXX")
fi
workdir=${CLAUDE_WORKDIR:-}
own_workdir=
if [ -z "$workdir" ]; then
  workdir=$(mktemp -d "${TMPDIR:-/tmp}/levity-claude-work.XXXXXX")
  own_workdir=1
fi
cleanup() {
  if [ -n "${CLAUDE_HOME_DIR:-}" ]; then
    rm -f "$tmp_home/.stdout"
  elif [ "${CLAUDE_KEEP_HOME:-}" = 1 ]; then
    echo "claude_code.sh: kept HOME=$tmp_home" >&2
  else
    rm -rf "$tmp_home"
  fi
  [ -n "$own_workdir" ] && rm -rf "$workdir"
}
trap cleanup EXIT

fallback_env=CLAUDE_CODE_DISABLE_NONSTREAMING_FALLBACK=1
[ "${CLAUDE_STREAM_FALLBACK:-}" = 1 ] && fallback_env=

out=$tmp_home/.stdout
# shellcheck disable=SC2086  # CLAUDE_EXTRA_ENV is word-split on purpose
(cd "$workdir" && env -i \
  PATH=/usr/local/bin:/usr/bin:/bin \
  HOME="$tmp_home" \
  TMPDIR="${TMPDIR:-/tmp}" \
  LANG=C.UTF-8 \
  TERM=dumb \
  ANTHROPIC_BASE_URL="$base_url" \
  "$auth_env" \
  DISABLE_TELEMETRY=1 \
  DISABLE_ERROR_REPORTING=1 \
  DISABLE_AUTOUPDATER=1 \
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
  CLAUDE_CODE_MAX_RETRIES="${CLAUDE_MAX_RETRIES:-0}" \
  API_TIMEOUT_MS="${CLAUDE_API_TIMEOUT_MS:-60000}" \
  $fallback_env \
  ${CLAUDE_EXTRA_ENV:-} \
  timeout --kill-after=5 "${CLAUDE_TIMEOUT:-120}" "$bin" -p "$prompt" "$@" \
  </dev/null >"$out")
rc=$?

cat "$out"
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
  echo "claude_code.sh: claude timed out after ${CLAUDE_TIMEOUT:-120}s" >&2
  exit 124
elif [ $rc -ne 0 ]; then
  echo "claude_code.sh: claude exited $rc" >&2
  exit $rc
elif ! [ -s "$out" ]; then
  echo "claude_code.sh: claude exited 0 but printed nothing" >&2
  exit 3
fi
exit 0

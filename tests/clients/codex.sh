#!/usr/bin/env bash
# Run the real OpenAI Codex CLI (`codex exec`) once against an OpenAI Responses-compatible
# server (levity) and print its final answer.
#
#   usage: tests/clients/codex.sh BASE_URL API_KEY PROMPT [extra codex exec args...]
#   e.g.:  tests/clients/codex.sh http://127.0.0.1:8080 sk-test "say hi"
#          tests/clients/codex.sh http://127.0.0.1:8080 sk-test "run: echo hi" --json
#          CODEX_MODEL=gpt-5.5 tests/clients/codex.sh http://127.0.0.1:8080 sk-test "say hi"
#          tests/clients/codex.sh http://127.0.0.1:8080 sk-test "say hi" -c 'web_search="disabled"'
#
# BASE_URL is the server root: codex is pointed at BASE_URL/v1 and posts to
# BASE_URL/v1/responses (wire_api "responses"; it never asks for /v1/models or opens a
# websocket with this config). API_KEY is sent as `Authorization: Bearer API_KEY`.
#
# Install first (pinned in package.json/package-lock.json; with claude-code ~11 s, ~345 MB to
# download, ~810 MB installed, of which @openai/codex is ~425 MB: a static musl binary):
#   (cd tests/clients && npm ci --no-audit --no-fund)
#
# Stdout: codex's stdout, which is only the final agent message (plus a newline), or JSONL
# events with --json. Stderr: codex's banner, warnings, tool runs and errors ("ERROR: ..."),
# plus a line from this script on failure.
# Exit status: codex's (0 ok, 1 API/stream error, 2 bad flag), 124 on timeout, 2 on usage
# or install problems, 3 when codex exited 0 but printed nothing.
# NB: a failed tool command does not fail the run (its output goes back to the model).
#
# Isolation. This script does not make a network namespace; run the whole test (levity and
# this script) inside one, so nothing can leave the machine:
#   unshare -n bash -c 'ip link set lo up; ./target/debug/levity --port 18080 & sleep 1;
#                       tests/clients/codex.sh http://127.0.0.1:18080 sk-test "say hi"'
# (needs root, or `unshare -rn` as a user; `lo` is down in a fresh namespace until brought up).
# Even without it, the config below makes Codex 0.171.0 connect to nothing but BASE_URL
# (checked with strace: one connect(), to the base URL, no DNS). Without it codex looks up
# ab.chatgpt.com and chatgpt.com ([analytics], which also adds ~5 s at exit) and runs
# `git ls-remote https://github.com/openai/plugins.git` (features.plugins).
#
# What it does: a throwaway CODEX_HOME (holding the config.toml below), HOME and working
# directory (so no ~/.codex config, auth.json, AGENTS.md or project files leak in), a
# scrubbed environment (`env -i`: the caller's OPENAI_* / CODEX_* variables never reach
# codex), stdin from /dev/null, and a hard timeout. The generated config.toml:
#   model = "$CODEX_MODEL"
#   model_provider = "levity"
#   approval_policy = "never"
#   sandbox_mode = "$CODEX_SANDBOX"
#   check_for_update_on_startup = false
#   [analytics]
#   enabled = false
#   [features]
#   plugins = false
#   unbounded_connection_retries = false
#   [model_providers.levity]
#   name = "levity"
#   base_url = "$BASE_URL/v1"
#   env_key = "LEVITY_API_KEY"
#   wire_api = "responses"
#   request_max_retries = $CODEX_MAX_RETRIES
#   stream_max_retries = $CODEX_MAX_RETRIES
#   stream_idle_timeout_ms = $CODEX_STREAM_IDLE_TIMEOUT_MS
#
# Knobs (environment variables of this script):
#   CODEX_BIN             codex binary (default: the native binary from the platform package
#                         node_modules/@openai/codex-linux-*/vendor/*/bin/codex, else
#                         node_modules/.bin/codex, a node wrapper that runs the same binary)
#   CODEX_MODEL           model name sent (default gpt-5-codex). Names missing from codex's
#                         bundled catalog (gpt-5-codex, anything made up) print a "Model
#                         metadata ... not found" warning and get the generic tool set
#                         (function, namespace, web_search: like the captured fixture); known
#                         ones (e.g. gpt-5.5) add text.verbosity, reasoning.effort, a `custom`
#                         apply_patch tool and a `tool_search` tool.
#   CODEX_TIMEOUT         seconds before the run is killed (default 120)
#   CODEX_MAX_RETRIES     -> request_max_retries and stream_max_retries (default 0: a gateway
#                         error fails at once). The two loops nest, so N gives (N+1)^2
#                         requests on a persistent 5xx; codex's own defaults (4 and 5) cost
#                         30 requests and ~25 s; 401 and a stream cut before
#                         response.completed only use the stream loop (6 requests, ~7 s);
#                         400 and 429 (no Retry-After) were not retried at all.
#   CODEX_STREAM_IDLE_TIMEOUT_MS -> stream_idle_timeout_ms (default 60000; codex's 300000)
#   CODEX_SANDBOX         sandbox_mode: read-only (default, as codex exec's own default),
#                         workspace-write or danger-full-access. read-only/workspace-write
#                         use bubblewrap (codex's bundled copy if none on PATH; works as root
#                         inside `unshare -n` here); use danger-full-access where it cannot.
#   CODEX_WORKDIR         working directory for codex (default: a fresh empty temp dir; not a
#                         git repo, hence --skip-git-repo-check)
#   CODEX_EXTRA_ENV       extra "NAME=value" words passed to codex (word-split), e.g.
#                         RUST_LOG=codex_api=debug
#   CODEX_KEEP_HOME       set to 1 to keep the temp CODEX_HOME (session transcript in
#                         sessions/YYYY/MM/DD/rollout-*.jsonl) and print its path on stderr
#   CODEX_HOME_DIR        use (and keep) this folder as HOME, CODEX_HOME in its codex/, so
#                         later runs can `resume --last` the same session
#   CODEX_PROVIDER        levity (default: the custom provider above, HTTP SSE) or builtin:
#                         Codex's own OpenAI provider pointed at levity with
#                         `openai_base_url = "BASE_URL/v1"`, the set-up users copy. It opens
#                         a WebSocket to /v1/responses and compacts remotely; the key goes in
#                         CODEX_API_KEY.
#   CODEX_CONFIG          extra top-level config.toml lines (e.g. model_context_window = 4000)
#
# Flags that matter (Codex CLI 0.171.0):
#   `exec` is the non-interactive mode: approval "never", no trust prompt, no login needed
#   with an env_key provider. --skip-git-repo-check is required outside a git repo (else
#   exit 1 "Not inside a trusted directory"); the prompt goes after `--` so one starting
#   with "-" or named like a subcommand ("resume") stays a prompt. There is no --full-auto
#   any more (exit 2); --dangerously-bypass-approvals-and-sandbox == -s danger-full-access
#   here. Extra args: -c key=value (any config key), -m MODEL, --json (JSONL events on
#   stdout), -o FILE (final message, no trailing newline), --strict-config.
#   Tools: exec_command {"cmd": ...} runs `/bin/bash -lc CMD` in the workdir; the next request
#   carries a function_call_output whose output is "Chunk ID: ..\nWall time: ..\nProcess
#   exited with code N\nOriginal token count: ..\nOutput:\n<stdout+stderr>".
#   A refused connection is retried forever ("Reconnecting... waiting for network") unless
#   features.unbounded_connection_retries = false, which the config above sets.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ $# -lt 3 ]; then
  echo "usage: $0 BASE_URL API_KEY PROMPT [extra codex exec args...]" >&2
  exit 2
fi
base_url=${1%/} api_key=$2 prompt=$3
shift 3

if [ -z "$api_key" ]; then
  echo "codex.sh: API_KEY must not be empty (codex refuses an empty env_key)" >&2
  exit 2
fi

bin=${CODEX_BIN:-}
if [ -z "$bin" ]; then
  for alt in "$here"/node_modules/@openai/codex-linux-*/vendor/*/bin/codex "$here/node_modules/.bin/codex"; do
    [ -x "$alt" ] && bin=$alt && break
  done
fi
if [ -z "$bin" ] || ! [ -x "$bin" ]; then
  echo "codex.sh: no codex binary${bin:+ at $bin}; run: (cd $here && npm ci --no-audit --no-fund)" >&2
  exit 2
fi

model=${CODEX_MODEL:-gpt-5-codex}
retries=${CODEX_MAX_RETRIES:-0}
idle_ms=${CODEX_STREAM_IDLE_TIMEOUT_MS:-60000}
sandbox=${CODEX_SANDBOX:-read-only}
case "$sandbox" in
  read-only|workspace-write|danger-full-access) ;;
  *) echo "codex.sh: CODEX_SANDBOX must be read-only, workspace-write or danger-full-access" >&2; exit 2 ;;
esac
case "$retries$idle_ms" in
  *[!0-9]*) echo "codex.sh: CODEX_MAX_RETRIES and CODEX_STREAM_IDLE_TIMEOUT_MS must be integers" >&2; exit 2 ;;
esac

if [ -n "${CODEX_HOME_DIR:-}" ]; then
  tmp_home=$CODEX_HOME_DIR
  mkdir -p "$tmp_home"
else
  tmp_home=$(mktemp -d "${TMPDIR:-/tmp}/levity-codex-home.XXXXXX")
fi
workdir=${CODEX_WORKDIR:-}
own_workdir=
if [ -z "$workdir" ]; then
  workdir=$(mktemp -d "${TMPDIR:-/tmp}/levity-codex-work.XXXXXX")
  own_workdir=1
fi
cleanup() {
  if [ -n "${CODEX_HOME_DIR:-}" ]; then
    rm -f "$tmp_home/.stdout"
  elif [ "${CODEX_KEEP_HOME:-}" = 1 ]; then
    echo "codex.sh: kept CODEX_HOME=$tmp_home/codex" >&2
  else
    rm -rf "$tmp_home"
  fi
  [ -n "$own_workdir" ] && rm -rf "$workdir"
}
trap cleanup EXIT

# TOML basic strings: escape backslashes and double quotes.
toml_str() { local s=${1//\\/\\\\}; printf '"%s"' "${s//\"/\\\"}"; }

mkdir -p "$tmp_home/codex"
case "${CODEX_PROVIDER:-levity}" in
  levity) provider_line='model_provider = "levity"' ;;
  builtin) provider_line="openai_base_url = $(toml_str "$base_url/v1")" ;;
  *) echo "codex.sh: CODEX_PROVIDER must be levity or builtin" >&2; exit 2 ;;
esac
cat >"$tmp_home/codex/config.toml" <<EOF
model = $(toml_str "$model")
$provider_line
${CODEX_CONFIG:-}
approval_policy = "never"
sandbox_mode = "$sandbox"
check_for_update_on_startup = false

[analytics]
enabled = false

[features]
plugins = false
unbounded_connection_retries = false

[model_providers.levity]
name = "levity"
base_url = $(toml_str "$base_url/v1")
env_key = "LEVITY_API_KEY"
wire_api = "responses"
request_max_retries = $retries
stream_max_retries = $retries
stream_idle_timeout_ms = $idle_ms
EOF

out=$tmp_home/.stdout
# shellcheck disable=SC2086  # CODEX_EXTRA_ENV is word-split on purpose
(cd "$workdir" && env -i \
  PATH=/usr/local/bin:/usr/bin:/bin \
  HOME="$tmp_home" \
  CODEX_HOME="$tmp_home/codex" \
  TMPDIR="${TMPDIR:-/tmp}" \
  LANG=C.UTF-8 \
  TERM=dumb \
  NO_COLOR=1 \
  LEVITY_API_KEY="$api_key" \
  CODEX_API_KEY="$api_key" \
  ${CODEX_EXTRA_ENV:-} \
  timeout --kill-after=5 "${CODEX_TIMEOUT:-120}" "$bin" exec --skip-git-repo-check --color never \
  "$@" -- "$prompt" \
  </dev/null >"$out")
rc=$?

cat "$out"
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
  echo "codex.sh: codex timed out after ${CODEX_TIMEOUT:-120}s" >&2
  exit 124
elif [ $rc -ne 0 ]; then
  echo "codex.sh: codex exited $rc" >&2
  exit $rc
elif ! [ -s "$out" ]; then
  echo "codex.sh: codex exited 0 but printed nothing" >&2
  exit 3
fi
exit 0

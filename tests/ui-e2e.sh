#!/usr/bin/env bash
# The dashboard end to end: a real levity (the debug build `cargo test`
# made) on a fresh folder, driven in headless Chromium by ui/e2e/run.mjs
# (accounts, ordering by keyboard and drag, settings, client keys, a live
# request in the Monitor, languages, screenshots of every page).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${LEVITY_BIN:-target/debug/levity}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
# A home of its own: the Connect page writes tools' config files there.
mkdir -p "$work/home"
HOME="$work/home" LEVITY_HOME="$work" LEVITY_LOG=warn "$bin" serve --port 0 --no-open > "$work/serve.log" 2>&1 &
for _ in $(seq 200); do grep -q "listening on" "$work/serve.log" && break; sleep 0.05; done
url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/serve.log" | head -1)
[ -n "$url" ] || { cat "$work/serve.log"; exit 1; }
# The admin token, from the dashboard address `serve --no-open` prints.
token=$(sed -n 's/.*#token=\([0-9a-f]*\).*/\1/p' "$work/serve.log" | head -1)
[ -n "$token" ] || { echo "levity serve printed no dashboard address with a token"; cat "$work/serve.log"; exit 1; }
E2E_HOME="$work/home" LEVITY_ADMIN_TOKEN="$token" LEVITY_URL="$url" ARTIFACTS="${ARTIFACTS:-ui/e2e/artifacts}" node ui/e2e/run.mjs

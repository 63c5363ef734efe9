#!/usr/bin/env bash
# Checks what `make dist` built: the archive and its checksum, the rendered
# package manifests, and the binary itself: fully static, under 20 MB, and on
# a fresh folder it starts, serves the dashboard and proxies a request (to a
# fake Gemini on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
name="levity-$version-x86_64-unknown-linux-musl"
archive="dist/$name.tar.gz"
fail() { echo "test-dist: $*" >&2; exit 1; }

[ -f "$archive" ] || fail "$archive is missing; run make dist"
(cd dist && sha256sum -c "$name.tar.gz.sha256" >/dev/null) || fail "checksum mismatch"
sum=$(cut -d' ' -f1 "$archive.sha256")
grep -q "sha256 \"$sum\"" dist/levity.rb || fail "the formula does not carry the archive's checksum"
grep -q "version \"$version\"" dist/levity.rb || fail "the formula names another version"
python3 -c 'import json,sys; m=json.load(open("dist/levity.json")); assert m["version"]==sys.argv[1]' "$version" || fail "the scoop manifest is not valid JSON for $version"
command -v ruby >/dev/null || { apt-get update -qq && apt-get install -y -qq ruby >/dev/null; }
ruby -c dist/levity.rb >/dev/null || fail "the formula is not valid Ruby"

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
tar -xzf "$archive" -C "$work"
bin="$work/$name/levity"
command -v file >/dev/null || { apt-get update -qq && apt-get install -y -qq file >/dev/null; }
file "$bin" | grep -Eq "statically linked|static-pie linked" || fail "not static: $(file "$bin")"
size=$(stat -c %s "$bin")
[ "$size" -lt $((20 * 1024 * 1024)) ] || fail "binary is $size bytes, over 20 MB"
"$bin" --version | grep -q "$version" || fail "--version does not say $version"

# A fake Gemini on loopback.
cat > "$work/fake.py" <<'PY'
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = json.dumps({"candidates": [{"content": {"role": "model", "parts": [{"text": "static ok"}]}, "finishReason": "STOP"}]}).encode()
        self.send_response(200); self.send_header("content-type", "application/json"); self.send_header("content-length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H); print(s.server_address[1], flush=True); s.serve_forever()
PY
python3 "$work/fake.py" > "$work/fake.port" &
for _ in $(seq 50); do [ -s "$work/fake.port" ] && break; sleep 0.1; done
fake_port=$(cat "$work/fake.port")

# Portable mode: a fresh, writable folder beside the binary holds the data.
"$bin" serve --port 0 --no-open > "$work/serve.log" 2>&1 &
for _ in $(seq 100); do grep -q "listening on" "$work/serve.log" && break; sleep 0.05; done
url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/serve.log" | head -1)
[ -n "$url" ] || fail "did not start: $(cat "$work/serve.log")"
grep -q "data file: $work/$name/levity.redb" "$work/serve.log" && grep -q "(portable)" "$work/serve.log" || fail "not portable: $(cat "$work/serve.log")"
curl -sf "$url/" | grep -qi "<html" || fail "no dashboard at $url/"
"$bin" account add gemini --api-key AIzaSTATIC-TEST-0001 --base-url "http://127.0.0.1:$fake_port" >/dev/null
answer=$(curl -sf "$url/v1/chat/completions" -H 'content-type: application/json' \
  -d '{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"}]}')
echo "$answer" | grep -q "static ok" || fail "proxied request failed: $answer"
echo "test-dist: ok ($archive, $size bytes, static)"

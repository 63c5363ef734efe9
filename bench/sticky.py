#!/usr/bin/env python3
"""Prompt-cache hits by scheduling mode: the measure behind "sticky sessions
multiply cache hits" (issue #18).

A fake Gemini API models implicit prefix caching per account: a request's
leading contents that an earlier request on the *same key* already sent are
read from cache, once that prefix reaches the model's minimum (1,024 tokens
for 2.5 Flash: ai.google.dev/gemini-api/docs/caching, "Implicit caching"),
and reported as `usageMetadata.cachedContentTokenCount` the way the API
does. levity (target/release/levity) serves ACCOUNTS such keys; CONVERSATIONS
multi-turn chats of TURNS turns each run WORKERS at a time through its OpenAI
Chat endpoint, once per scheduling mode, each on a fresh levity and a fresh
cache. The hit rate is levity's own count (cached input / input, from
/api/stats), the figure the Usage page shows.

Writes the table into BENCHMARKS.md between <!-- sticky --> markers (OUT to
write elsewhere). Standard library only; everything on loopback.
"""

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACCOUNTS = int(os.environ.get("ACCOUNTS", "4"))
CONVERSATIONS = int(os.environ.get("CONVERSATIONS", "32"))
TURNS = int(os.environ.get("TURNS", "8"))
WORKERS = int(os.environ.get("WORKERS", "8"))
MIN_CACHED = 1024
MODEL = "gemini-2.5-flash"
MODES = ["cache-first", "balance", "performance"]
BIN = os.environ.get("LEVITY_BIN", "target/release/levity")


def tokens(value):
    """About four bytes of JSON a token, as levity's own estimate."""
    return max(1, len(json.dumps(value, sort_keys=True)) // 4)


class Cache:
    """Per key: the hashes of every prefix of contents sent with it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seen = {}

    def serve(self, key, contents):
        """(prompt tokens, cached tokens) of one request, then remember it."""
        h = hashlib.sha256()
        prefixes, sizes, total = [], [], 0
        for c in contents:
            h.update(json.dumps(c, sort_keys=True).encode())
            prefixes.append(h.hexdigest())
            total += tokens(c)
            sizes.append(total)
        with self.lock:
            seen = self.seen.setdefault(key, set())
            cached = 0
            # The longest leading run of contents this key sent before,
            # short of the whole request (its last turn is new).
            for prefix, size in zip(prefixes[:-1], sizes[:-1]):
                if prefix in seen:
                    cached = size
            seen.update(prefixes)
        return total, (cached if cached >= MIN_CACHED else 0)


def fake_gemini(cache):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            key = self.headers.get("x-goog-api-key", "")
            prompt, cached = cache.serve(key, body.get("contents", []))
            reply = {
                "candidates": [
                    {
                        "content": {"role": "model", "parts": [{"text": "noted. " * 30}]},
                        "finishReason": "STOP",
                        "index": 0,
                    }
                ],
                "usageMetadata": {
                    "promptTokenCount": prompt,
                    "cachedContentTokenCount": cached,
                    "candidatesTokenCount": 60,
                    "totalTokenCount": prompt + 60,
                },
                "modelVersion": MODEL,
            }
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def call(url, token, method, path, body=None):
    req = urllib.request.Request(
        url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"content-type": "application/json", "x-levity-admin-token": token},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read() or b"null")


def levity(home):
    log = open(os.path.join(home, "serve.log"), "w+")
    proc = subprocess.Popen(
        [BIN, "serve", "--port", "0", "--no-open"],
        env={**os.environ, "LEVITY_HOME": home, "LEVITY_LOG": "warn"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    for _ in range(400):
        text = open(log.name).read()
        url = re.search(r"listening on (http\S+)", text)
        token = re.search(r"#token=([0-9a-f]+)", text)
        if url and token:
            return proc, url.group(1).rstrip("/"), token.group(1)
        time.sleep(0.05)
    proc.kill()
    sys.exit(f"levity did not start:\n{open(log.name).read()}")


def conversation(url, n):
    """One chat of TURNS turns; its start is its own (so its own session)."""
    opening = f"Conversation {n}. " + " ".join(f"fact-{n}-{i}" for i in range(900))
    messages = [{"role": "user", "content": opening}]
    for turn in range(TURNS):
        body = json.dumps({"model": MODEL, "messages": messages}).encode()
        req = urllib.request.Request(
            url + "/v1/chat/completions", data=body, headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=60) as resp:
            answer = json.loads(resp.read())["choices"][0]["message"]["content"]
        messages.append({"role": "assistant", "content": answer})
        messages.append({"role": "user", "content": f"turn {turn}: " + "more words " * 120})


def measure(mode):
    cache = Cache()
    fake = fake_gemini(cache)
    base = f"http://127.0.0.1:{fake.server_address[1]}"
    with tempfile.TemporaryDirectory() as home:
        proc, url, token = levity(home)
        try:
            for i in range(ACCOUNTS):
                call(url, token, "POST", "/api/accounts", {
                    "kind": "gemini", "name": f"g{i}", "api_key": f"AIzaSTICKY-{i:012d}",
                    "base_url": base, "tier": "paid",
                })
            call(url, token, "PUT", "/api/config", {"key": "scheduling", "value": mode})
            started = time.monotonic()
            with ThreadPoolExecutor(WORKERS) as pool:
                list(pool.map(lambda n: conversation(url, n), range(CONVERSATIONS)))
            seconds = time.monotonic() - started
            stats = call(url, token, "GET", "/api/stats?days=1")
        finally:
            proc.terminate()
            proc.wait()
            fake.shutdown()
    t = stats["today"]
    return {
        "mode": mode,
        "requests": t["requests"],
        "errors": t["errors"],
        "input": t["input_tokens"],
        "cached": t["cached_tokens"],
        "rate": t["cached_tokens"] / t["input_tokens"] if t["input_tokens"] else 0.0,
        "cost": t["cost_usd"],
        "seconds": seconds,
    }


def main():
    rows = [measure(mode) for mode in MODES]
    lines = [
        "<!-- sticky -->",
        "## Prompt-cache hits by scheduling mode",
        "",
        f"`bench/sticky.py`: {CONVERSATIONS} conversations of {TURNS} turns, {WORKERS} at a time,",
        f"over {ACCOUNTS} Gemini keys whose fake upstream caches each key's prefixes",
        f"(implicit caching, {MIN_CACHED}-token minimum). Hit rate = cached input / input,",
        "as levity counts it; cost at the catalogue's gemini-2.5-flash price.",
        "",
        "| mode | requests | errors | input tokens | cached | hit rate | cost (USD) | time (s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['mode']} | {r['requests']} | {r['errors']} | {r['input']:,} | {r['cached']:,} "
            f"| {r['rate']:.1%} | {r['cost']:.4f} | {r['seconds']:.1f} |"
        )
    spread = next(r for r in rows if r["mode"] == "performance")
    sticky = next(r for r in rows if r["mode"] == "balance")
    if spread["rate"] > 0:
        lines.append("")
        lines.append(
            f"Sticky sessions (balance) read {sticky['rate'] / spread['rate']:.1f}× as much input "
            "from cache as spreading every request (performance)."
        )
    lines.append("<!-- /sticky -->")
    table = "\n".join(lines)
    print(table)
    out = os.environ.get("OUT", "BENCHMARKS.md")
    text = open(out).read() if os.path.exists(out) else ""
    if "<!-- sticky -->" in text:
        text = re.sub(r"<!-- sticky -->.*<!-- /sticky -->", lambda _: table, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + table + "\n"
    open(out, "w").write(text)


if __name__ == "__main__":
    main()

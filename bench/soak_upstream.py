#!/usr/bin/env python3
"""A fake Gemini API upstream for levity's soak and crash tests (stdlib only).

Answers POST /v1beta/models/{model}:generateContent with a fixed answer and
:streamGenerateContent?alt=sse with a short SSE stream (chunked transfer
encoding, as Google sends it). A model whose name contains "slow" trickles
its stream over about two seconds (the graceful-shutdown check needs a
request in flight when levity is told to stop).

With --fault-rate R, a fraction R of generate requests fails the way real
upstreams do, in equal shares:
  429       with Retry-After: 1 and Gemini's RESOURCE_EXHAUSTED body
  503, 500  with Gemini's error body
  reset     the connection is reset (RST) instead of answering
  truncate  (streams only) two chunks, then the connection drops mid-body
Non-stream requests draw from the first four kinds only. A model whose name
contains fault-<kind> (gemini-2.5-flash-fault-truncate) always fails that way.

GET /stats answers the counters as JSON: requests, answers and faults by kind.
The port (0 picks a free one) is written to --port-file once listening.
"""

import argparse
import asyncio
import json
import os
import random
import socket
import struct
import sys

STREAM_CHUNKS = 8
SLOW_CHUNKS = 20
SLOW_GAP_S = 0.1  # 20 chunks x 100 ms: about two seconds

stats = {"requests": 0, "answered": 0, "streams": 0, "faults": {}}


def answer(model, text="Hello from the fake upstream."):
    return {
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 7, "totalTokenCount": 19},
        "modelVersion": model,
        "responseId": "fake",
    }


def chunk(model, i, last):
    c = {"candidates": [{"content": {"role": "model", "parts": [{"text": f"w{i} "}]}, "index": 0}],
         "modelVersion": model, "responseId": "fake"}
    if last:
        c["candidates"][0]["finishReason"] = "STOP"
        c["usageMetadata"] = {"promptTokenCount": 12, "candidatesTokenCount": i + 1, "totalTokenCount": 13 + i}
    return b"data: " + json.dumps(c).encode() + b"\r\n\r\n"


def prefilled(body):
    """How many of the answer's words a trailing model turn already holds."""
    try:
        contents = json.loads(body)["contents"]
    except (ValueError, KeyError, TypeError):
        return 0
    if not contents or contents[-1].get("role") != "model":
        return 0
    text = "".join(p.get("text", "") for p in contents[-1].get("parts", []))
    return len(text.split())


def gemini_error(code, status, message):
    return json.dumps({"error": {"code": code, "message": message, "status": status}}).encode()


def head(status, reason, ctype, length=None, extra=()):
    lines = [f"HTTP/1.1 {status} {reason}", f"content-type: {ctype}"]
    lines.append(f"content-length: {length}" if length is not None else "transfer-encoding: chunked")
    lines.extend(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunked(data):
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def reset(writer):
    """Closes with an RST rather than a FIN: what a dropped connection looks like."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def read_request(reader):
    """One HTTP/1.1 request: (method, target, headers, body), or None at EOF."""
    line = await reader.readline()
    if not line:
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers = {}
    while True:
        h = await reader.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    body = b""
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            data = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += data[:-2]
    return method, target, headers, body


class Upstream:
    def __init__(self, fault_rate, seed):
        self.fault_rate = fault_rate
        self.rng = random.Random(seed)

    def pick_fault(self, stream, model):
        # A model named ...-fault-<kind> always fails that way (for checks by hand).
        forced = next((k for k in ("429", "503", "500", "reset", "truncate") if f"fault-{k}" in model), None)
        if forced:
            return forced
        if self.rng.random() >= self.fault_rate:
            return None
        kinds = ["429", "503", "500", "reset"] + (["truncate"] if stream else [])
        return self.rng.choice(kinds)

    async def handle(self, reader, writer):
        try:
            while True:
                req = await read_request(reader)
                if req is None:
                    break
                if not await self.respond(writer, *req):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            if not writer.transport.is_closing():
                writer.close()

    async def respond(self, writer, method, target, headers, body):
        """Answers one request; False when the connection must not be reused."""
        path = target.split("?", 1)[0]
        if method == "GET" and path == "/stats":
            data = json.dumps(stats).encode()
            writer.write(head(200, "OK", "application/json", len(data)) + data)
            await writer.drain()
            return True
        if method != "POST" or ":" not in path:
            data = gemini_error(404, "NOT_FOUND", f"no route {method} {path}")
            writer.write(head(404, "Not Found", "application/json", len(data)) + data)
            await writer.drain()
            return True
        model_path, _, verb = path.rpartition(":")
        model = model_path.rsplit("/", 1)[-1]
        stats["requests"] += 1
        stream = verb == "streamGenerateContent"
        fault = self.pick_fault(stream, model)
        if fault:
            stats["faults"][fault] = stats["faults"].get(fault, 0) + 1
        if fault and "slow" in model:
            await asyncio.sleep(0.3)  # a fault that takes time: many are in flight at once
        if fault == "reset":
            reset(writer)
            return False
        if fault in ("429", "503", "500"):
            code = int(fault)
            status, reason, extra = {
                429: ("RESOURCE_EXHAUSTED", "Too Many Requests", ("retry-after: 1",)),
                503: ("UNAVAILABLE", "Service Unavailable", ()),
                500: ("INTERNAL", "Internal Server Error", ()),
            }[code]
            data = gemini_error(code, status, f"injected fault {code}")
            writer.write(head(code, reason, "application/json", len(data), extra) + data)
            await writer.drain()
            return True
        if verb == "countTokens":
            data = json.dumps({"totalTokens": 12}).encode()
            writer.write(head(200, "OK", "application/json", len(data)) + data)
            await writer.drain()
            stats["answered"] += 1
            return True
        slow = "slow" in model
        if not stream:
            if slow:
                await asyncio.sleep(SLOW_CHUNKS * SLOW_GAP_S)
            data = json.dumps(answer(model)).encode()
            writer.write(head(200, "OK", "application/json", len(data)) + data)
            await writer.drain()
            stats["answered"] += 1
            return True
        stats["streams"] += 1
        n = SLOW_CHUNKS if slow else STREAM_CHUNKS
        writer.write(head(200, "OK", "text/event-stream"))
        # A trailing model turn is continued where it stops, as Gemini does:
        # its words are the first chunks, already said.
        for i in range(prefilled(body), n):
            writer.write(chunked(chunk(model, i, i == n - 1)))
            await writer.drain()
            if fault == "truncate" and i == 1:
                # Two chunks went out; the rest never comes.
                reset(writer)
                return False
            if slow:
                await asyncio.sleep(SLOW_GAP_S)
            elif i % 3 == 2:
                await asyncio.sleep(0)  # let other connections in, like a real stream
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        stats["answered"] += 1
        return True


async def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--fault-rate", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    up = Upstream(args.fault_rate, args.seed)
    server = await asyncio.start_server(up.handle, "127.0.0.1", args.port, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(port))
        # Renamed into place so a reader never sees a half-written file.
        os.replace(args.port_file + ".tmp", args.port_file)
    print(f"fake upstream on 127.0.0.1:{port} (fault rate {args.fault_rate})", file=sys.stderr)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass

#!/usr/bin/env python3
"""Open-loop load generator for bench/soak.sh (stdlib only).

Sends --rps requests per second for --seconds to levity, on a fixed schedule
(request i is due at start + i / rps whatever happened to the ones before),
cycling through eight kinds: OpenAI Chat, Anthropic Messages, Gemini
generateContent and OpenAI Responses, each streamed and not. Latency counts
from the moment a request was due, so a stall shows in the figures instead of
silently lowering the rate (no coordinated omission).

Requests go over a fixed pool of --connections keep-alive connections, all
opened before the first request, so levity's count of open files depends on
its own behaviour rather than on how many clients happen to be connected.

Every answer is checked, and classified:
  ok                  200 and the protocol's complete answer (a stream's own
                      end: [DONE], message_stop, finishReason, response.completed)
  http_<code>         an error status
  stream_error_event  200, then an error event inside the stream
  stream_incomplete   200, the body ended cleanly but without the stream's end
  broken              the connection broke mid-answer
  bad_body            200 but not the expected answer
  timeout             no complete answer in --timeout seconds

Every --window seconds, levity's resident memory, open files and CPU time are
read from /proc/<pid>. Writes one JSON document with the totals, the outcome
counts and one row per window to --out.
"""

import argparse
import asyncio
import json
import os

KINDS = [(proto, stream) for proto in ("chat", "messages", "gemini", "responses") for stream in (False, True)]


def build(kind, i, model, key, sessions):
    """(path, headers, body) of request i."""
    proto, stream = kind
    # levity keeps a conversation on one account, knowing it by how it starts:
    # `sessions` conversations take turns (0: a new one for every request).
    text = f"soak conversation {i % sessions if sessions else i}: say hello"
    h = {"content-type": "application/json", "authorization": f"Bearer {key}"} if key else {"content-type": "application/json"}
    if proto == "chat":
        return "/v1/chat/completions", h, {"model": model, "stream": stream, "messages": [{"role": "user", "content": text}]}
    if proto == "messages":
        return "/v1/messages", h, {"model": model, "max_tokens": 256, "stream": stream,
                                   "messages": [{"role": "user", "content": text}]}
    if proto == "responses":
        return "/v1/responses", h, {"model": model, "stream": stream, "input": text}
    verb = "streamGenerateContent?alt=sse" if stream else "generateContent"
    return f"/v1beta/models/{model}:{verb}", h, {"contents": [{"role": "user", "parts": [{"text": text}]}]}


def classify(kind, status, body):
    proto, stream = kind
    if status != 200:
        return f"http_{status}"
    if stream:
        text = body.decode("utf-8", "replace")
        if proto == "chat":
            err = '"error"' in text
            end = "data: [DONE]" in text
        elif proto == "messages":
            err = "event: error" in text
            end = "event: message_stop" in text
        elif proto == "responses":
            err = "event: response.failed" in text or "event: error" in text
            end = "event: response.completed" in text
        else:
            err = '"error"' in text
            end = '"finishReason"' in text
        if err:
            return "stream_error_event"
        return "ok" if end else "stream_incomplete"
    try:
        v = json.loads(body)
    except ValueError:
        return "bad_body"
    good = {
        "chat": lambda: v["choices"][0]["message"]["content"],
        "messages": lambda: v["content"][0]["text"],
        "responses": lambda: v["status"] == "completed" and v["output"],
        "gemini": lambda: v["candidates"][0]["content"]["parts"][0]["text"],
    }[proto]
    try:
        return "ok" if good() else "bad_body"
    except (KeyError, IndexError, TypeError):
        return "bad_body"


class Broken(Exception):
    pass


NOTHING = "closed before the status line"


class Conn:
    resent = 0  # requests sent again on a fresh connection (see request)

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, path, headers, body):
        """(status, body); raises Broken when the connection breaks.

        A kept-alive connection the server has closed since its last answer
        (levity closes one after a body that failed half-way) is reopened and
        the request sent again, once, when nothing at all came back: the
        request never reached levity, as any HTTP client's pool assumes.
        """
        reused = self.writer is not None
        if reused and self.reader.at_eof():
            self.close()
            reused = False
        if self.writer is None:
            await self.open()
        try:
            return await self.exchange(path, headers, body)
        except Broken as e:
            if not (reused and e.args and e.args[0] == NOTHING):
                raise
        Conn.resent += 1
        self.close()
        await self.open()
        return await self.exchange(path, headers, body)

    async def exchange(self, path, headers, body):
        data = json.dumps(body).encode()
        head = [f"POST {path} HTTP/1.1", f"host: {self.host}:{self.port}", f"content-length: {len(data)}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        got = False  # any byte of the answer yet
        try:
            self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
            await self.writer.drain()
            line = await self.reader.readline()
            if not line:
                raise Broken(NOTHING)
            got = True
            status = int(line.split()[1])
            h = {}
            while True:
                l = await self.reader.readline()
                if l in (b"\r\n", b""):
                    break
                k, _, v = l.decode("latin-1").partition(":")
                h[k.strip().lower()] = v.strip()
            if "content-length" in h:
                out = await self.reader.readexactly(int(h["content-length"]))
            elif h.get("transfer-encoding", "").lower() == "chunked":
                parts = []
                while True:
                    size_line = await self.reader.readline()
                    if not size_line:
                        raise Broken("closed mid-body")
                    size = int(size_line.split(b";")[0], 16)
                    chunk = await self.reader.readexactly(size + 2)
                    if size == 0:
                        break
                    parts.append(chunk[:-2])
                out = b"".join(parts)
            else:
                out = await self.reader.read()
                self.close()
            if h.get("connection", "").lower() == "close":
                self.close()
            return status, out
        except (ConnectionResetError, BrokenPipeError) as e:
            self.close()
            raise Broken(NOTHING if not got else str(e)) from e
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError) as e:
            self.close()
            raise Broken(str(e) or type(e).__name__) from e


def proc_sample(pid):
    """(rss_kb, open_fds, cpu_seconds) of a process."""
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return rss, fds, cpu


def pct(sorted_vals, p):
    if not sorted_vals:
        return None
    return sorted_vals[min(len(sorted_vals) - 1, round((len(sorted_vals) - 1) * p))]


async def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True, help="levity, e.g. http://127.0.0.1:8045")
    ap.add_argument("--rps", type=float, default=300)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--window", type=float, default=10)
    ap.add_argument("--connections", type=int, default=128)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--model", default="gemini-2.5-flash")
    ap.add_argument("--key", help="client key for levity")
    ap.add_argument("--sessions", type=int, default=1000, help="distinct conversations (0: each request its own)")
    ap.add_argument("--pid", type=int, required=True, help="levity's pid, sampled every window")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    host, port = args.url.removeprefix("http://").rstrip("/").rsplit(":", 1)
    port = int(port)
    pool = asyncio.Queue()
    conns = [Conn(host, port) for _ in range(args.connections)]
    await asyncio.gather(*(c.open() for c in conns))
    for c in conns:
        pool.put_nowait(c)

    loop = asyncio.get_running_loop()
    total = int(args.rps * args.seconds)
    outcomes = {}
    examples = {}  # outcome -> the ends of a few such answers, for the report
    by_kind = {f"{p}{'-stream' if s else ''}": {} for p, s in KINDS}
    nwin = int(-(-args.seconds // args.window))
    windows = [{"sent": 0, "ok": 0, "failed": 0, "lat": [], "late_ms": []} for _ in range(nwin)]
    sent = answered = 0
    t0 = loop.time()

    async def one(i, due):
        nonlocal answered
        kind = KINDS[i % len(KINDS)]
        path, headers, body = build(kind, i, args.model, args.key, args.sessions)
        conn = await pool.get()
        data = b""
        try:
            status, data = await asyncio.wait_for(conn.request(path, headers, body), args.timeout)
            outcome = classify(kind, status, data)
            answered += 1
        except Broken as e:
            outcome = "broken"
            data = str(e).encode()
            answered += 1
        except asyncio.TimeoutError:
            conn.close()
            outcome = "timeout"
        finally:
            pool.put_nowait(conn)
        lat_ms = (loop.time() - due) * 1000
        w = windows[min(int((due - t0) // args.window), nwin - 1)]
        w["lat"].append(lat_ms)
        w["ok" if outcome == "ok" else "failed"] += 1
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if outcome != "ok" and len(examples.setdefault(outcome, [])) < 3:
            examples[outcome].append(f"{path}: {data[-300:].decode('utf-8', 'replace')}")
        k = by_kind[f"{kind[0]}{'-stream' if kind[1] else ''}"]
        k[outcome] = k.get(outcome, 0) + 1

    samples = []

    async def sampler():
        cpu0 = proc_sample(args.pid)[2]
        for n in range(1, nwin + 1):
            await asyncio.sleep(max(0.0, t0 + n * args.window - loop.time()))
            rss, fds, cpu = proc_sample(args.pid)
            samples.append({"t": round(loop.time() - t0, 1), "rss_kb": rss, "fds": fds,
                            "cpu_pct": round(100 * (cpu - cpu0) / args.window, 1)})
            cpu0 = cpu

    sampling = asyncio.create_task(sampler())
    tasks = set()
    for i in range(total):
        due = t0 + i / args.rps
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        w = windows[min(int((due - t0) // args.window), nwin - 1)]
        w["sent"] += 1
        w["late_ms"].append((loop.time() - due) * 1000)
        sent += 1
        t = asyncio.create_task(one(i, due))
        tasks.add(t)
        t.add_done_callback(tasks.discard)
    send_end = loop.time()
    if tasks:
        await asyncio.wait(set(tasks))
    finish = loop.time() - t0  # the last answer
    await sampling
    for c in conns:
        c.close()

    rows = []
    for n, w in enumerate(windows):
        lat = sorted(w["lat"])
        late = sorted(w["late_ms"])
        s = samples[n] if n < len(samples) else {}
        rows.append({"window": n, "start_s": n * args.window, "sent": w["sent"], "ok": w["ok"], "failed": w["failed"],
                     "p50_ms": pct(lat, 0.5), "p90_ms": pct(lat, 0.9), "p99_ms": pct(lat, 0.99),
                     "max_ms": lat[-1] if lat else None, "send_late_p99_ms": pct(late, 0.99), **s})
    result = {"rps": args.rps, "seconds": args.seconds, "sessions": args.sessions, "window": args.window, "connections": args.connections, "sent": sent,
              "answered": answered, "send_rate": round(sent / (send_end - t0), 1),
              "finish_s": round(finish, 1), "answer_rate": round(answered / finish, 1), "outcomes": outcomes, "examples": examples, "resent": Conn.resent,
              "by_kind": by_kind, "windows": rows}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    asyncio.run(main())

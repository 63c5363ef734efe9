#!/usr/bin/env python3
"""Scenario 4 of `make bench`: time to first token and per-chunk delay.

    stamps.py URL BODY-FILE STREAMS [HEADERS]   (header lines, one per line)

Opens STREAMS streams one after the other (one in flight) against a target
in front of bench/trickle.py in STAMP mode, whose chunks carry the
CLOCK_MONOTONIC time they were written (`t<ns>`). For each chunk whose stamp
arrives, the delay is arrival minus stamp; time to first token is the first
stamp's arrival minus the moment the request was sent. Prints
"ttft_us chunk_us" (medians over every stream and every chunk). A target's
added figure is its median minus the fake's own, so this client's overhead
(the same for all) cancels out.
"""
import re
import socket
import statistics
import sys
import time
from urllib.parse import urlsplit

STAMP = re.compile(rb"t(\d{6,}) ")


def one(url, body, header):
    u = urlsplit(url)
    sock = socket.create_connection((u.hostname, u.port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    extra = "".join(f"{line}\r\n" for line in header.splitlines() if line)
    head = (f"POST {u.path}{'?' + u.query if u.query else ''} HTTP/1.1\r\nhost: {u.netloc}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n{extra}"
            "connection: close\r\n\r\n").encode()
    sent = time.monotonic_ns()
    sock.sendall(head + body)
    buf, seen, first, delays = b"", 0, None, []
    while True:
        data = sock.recv(65536)
        now = time.monotonic_ns()
        if not data:
            break
        buf += data
        for m in STAMP.finditer(buf, seen):
            stamp = int(m.group(1))
            delays.append(now - stamp)
            if first is None:
                first = now - sent
            seen = m.end()
        # The fake keeps connections open; the chunked body's end is the end.
        if buf.endswith(b"\r\n0\r\n\r\n"):
            break
    sock.close()
    if first is None:
        sys.exit(f"stamps.py: no stamped chunk from {url}: {buf[:300]!r}")
    return first, delays


def main():
    url, body = sys.argv[1], open(sys.argv[2], "rb").read()
    streams = int(sys.argv[3])
    header = sys.argv[4] if len(sys.argv) > 4 else ""
    one(url, body, header)  # warm: connections, first-sight caches
    firsts, delays = [], []
    for _ in range(streams):
        f, d = one(url, body, header)
        firsts.append(f)
        delays.extend(d)
    print(f"{statistics.median(firsts) / 1000:.1f} {statistics.median(delays) / 1000:.1f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A slow fake Gemini for scenario 3 of `make bench`.

Every POST to `...:streamGenerateContent` gets a server-sent-event stream that
trickles one Gemini chunk every INTERVAL seconds for DURATION seconds, the last
one carrying finishReason and usage; any other POST gets a whole Gemini answer
at once (used only to check a target before the load). HTTP/1.1 with chunked
bodies and keep-alive, standard library only, so it runs on any Python 3.8+.

One coroutine per connection, each sleeping until its next deadline: asyncio
holds thousands of them in a few tens of MB, so the fake is never what limits
how many streams a target can hold.

With STAMP (scenario 4), each chunk's text is `t<ns>` instead: the
CLOCK_MONOTONIC time it was written, which bench/stamps.py subtracts from
the time it arrives (one clock for every process on the machine).

    trickle.py PORT [INTERVAL] [DURATION] [STAMP]
"""
import asyncio
import json
import sys
import time

STAMP = len(sys.argv) > 4 and sys.argv[4] == "STAMP"


def chunk(i, last):
    text = f"t{time.monotonic_ns()} " if STAMP else f"word{i} "
    body = {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}}],
            "modelVersion": "gemini-2.5-flash", "responseId": "trickle"}
    if last:
        body["candidates"][0]["finishReason"] = "STOP"
        body["usageMetadata"] = {"promptTokenCount": 12, "candidatesTokenCount": i + 1,
                                 "totalTokenCount": i + 13}
    return f"data: {json.dumps(body)}\r\n\r\n".encode()


WHOLE = json.dumps({
    "candidates": [{"content": {"role": "model", "parts": [{"text": "Hello! How can I help you today?"}]},
                    "finishReason": "STOP"}],
    "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 9, "totalTokenCount": 21},
    "modelVersion": "gemini-2.5-flash", "responseId": "trickle"}).encode()


def framed(data):
    """One piece of a chunked body."""
    return b"%x\r\n%s\r\n" % (len(data), data)


async def serve(reader, writer, interval, count):
    loop = asyncio.get_running_loop()
    try:
        while True:  # one request per turn: the connection is kept alive
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1] if " " in lines[0] else ""
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            if ":streamGenerateContent" not in path:
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                             b"content-length: %d\r\n\r\n%s" % (len(WHOLE), WHOLE))
                await writer.drain()
                continue
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                         b"transfer-encoding: chunked\r\n\r\n")
            start = loop.time()
            for i in range(count):
                # Sleep to an absolute deadline so the stream lasts DURATION
                # however late the loop wakes us.
                await asyncio.sleep(max(0.0, start + (i + 1) * interval - loop.time()))
                writer.write(framed(chunk(i, i == count - 1)))
                await writer.drain()
            writer.write(b"0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass  # the client went away, mid-stream or between requests
    finally:
        writer.close()


async def main():
    port = int(sys.argv[1])
    interval = float(sys.argv[2]) if len(sys.argv) > 2 else 0.1
    duration = float(sys.argv[3]) if len(sys.argv) > 3 else 30.0
    count = max(1, round(duration / interval))
    server = await asyncio.start_server(lambda r, w: serve(r, w, interval, count),
                                        "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())

#!/usr/bin/python3
"""Loopback echo on Python's asyncio streams (or uvloop): the Python pair of bench/asio_peers.cpp's
echo and tandem_aio_bench's. argv: asyncio|uvloop [conns] [msgs] [bytes] (default 100 1000 64).

One process, one event loop: asyncio.start_server on 127.0.0.1 port 0 (a free port) echoes what it
reads; `conns` clients (asyncio.open_connection) each write a `bytes`-byte message `msgs` times and
read its echo back whole (readexactly), checking every byte. The server accepts exactly `conns`
connections; each client closes after its last message, which ends its server session (EOF), then
the server closes. Prints one JSON line (the format of shared/peers/python and bench/loop_peer.hpp):
rate = round trips per second over the whole run (connecting and closing included). Standard library only,
plus uvloop for that variant (Debian's python3-uvloop)."""
import asyncio
import json
import sys
import time

LOOP = sys.argv[1] if len(sys.argv) > 1 else "asyncio"
CONNS = int(sys.argv[2]) if len(sys.argv) > 2 else 100
MSGS = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
SIZE = int(sys.argv[4]) if len(sys.argv) > 4 else 64
if LOOP == "uvloop":
    import uvloop
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
elif LOOP != "asyncio":
    sys.exit("loop must be asyncio or uvloop")
if CONNS < 1 or MSGS < 1 or SIZE < 1:
    sys.exit("conns, msgs and bytes must be >= 1")

# Message i of connection c: byte j is 'a' + (c*7 + i*3 + j) % 26, as bench/loop_peer.hpp's
# echo_byte, so every message differs from the last; the 26 rotations are built once.
ROTATIONS = [bytes(97 + (k + j) % 26 for j in range(SIZE)) for k in range(26)]


async def session(reader, writer):
    """The server's side of one connection: echo until EOF."""
    try:
        while True:
            data = await reader.read(4096)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()
        await writer.wait_closed()


async def client(port, c):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    ok = 0
    for i in range(MSGS):
        msg = ROTATIONS[(c * 7 + i * 3) % 26]
        writer.write(msg)
        await writer.drain()
        got = await reader.readexactly(SIZE)
        if got != msg:
            raise RuntimeError(f"connection {c}: wrong echo at message {i}")
        ok += 1
    writer.close()
    await writer.wait_closed()
    return ok


async def main():
    sessions = []
    accepted = asyncio.Event()

    async def handler(reader, writer):
        sessions.append(asyncio.current_task())
        if len(sessions) == CONNS:
            accepted.set()
        await session(reader, writer)

    server = await asyncio.start_server(handler, "127.0.0.1", 0, backlog=max(100, CONNS))
    port = server.sockets[0].getsockname()[1]
    t0 = time.perf_counter()
    done = await asyncio.gather(*(client(port, c) for c in range(CONNS)))
    # Bounded: every client has closed, so every session ends at EOF. The clock stops when all
    # is closed, as the C++ pairs' does (their loop returns when nothing is left).
    await accepted.wait()
    await asyncio.gather(*sessions)
    server.close()
    await server.wait_closed()
    t1 = time.perf_counter()
    return sum(done), t1 - t0, type(asyncio.get_running_loop()).__module__


n, wall, loopmod = asyncio.run(main())
assert n == CONNS * MSGS, n
print(json.dumps({"workload": "echo", "method": LOOP, "loop_module": loopmod, "n": n,
                  "connections": CONNS, "messages": MSGS, "bytes": SIZE,
                  "wall_s": round(wall, 4), "rate": round(n / wall, 1), "unit": "messages/s",
                  "check": n}))

#!/usr/bin/python3
"""The server benchmark's Python peer: aiohttp.web on 127.0.0.1 (a free port, printed on stdout)
whose GET / answers the same 1 KiB static body as bench/http_server_bench.cpp; no access log.
One process, the default asyncio loop. Serves until SIGTERM/SIGINT."""
import asyncio, signal, socket
from aiohttp import web

BODY = b"x" * 1024


async def kib(request):
    return web.Response(body=BODY, content_type="application/octet-stream")


async def main():
    app = web.Application()
    app.router.add_get("/", kib)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, sock, backlog=4096)
    await site.start()
    print(sock.getsockname()[1], flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


asyncio.run(main())

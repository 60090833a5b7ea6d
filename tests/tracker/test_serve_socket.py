"""`tracker serve` listens on a socket it binds itself: its connections must send at once."""

from __future__ import annotations

import asyncio
import socket

from tracker.cli import listening_socket


def test_the_servers_connections_send_small_answers_without_waiting_for_an_ack():
    """asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets made as TCP: without
    it, an answer written in two parts (headers, then body) waited for the client's delayed ACK,
    40 ms per request."""
    sock = listening_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    seen: list[int] = []

    async def main() -> None:
        async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            seen.append(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP,
                                                                    socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(accepted, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            for _ in range(100):
                if seen:
                    break
                await asyncio.sleep(0.01)
            writer.close()

    asyncio.run(main())
    assert seen and seen[0] != 0

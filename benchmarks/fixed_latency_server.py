"""A minimal HTTP/1.1 keep-alive JSON endpoint with a fixed latency, on 127.0.0.1.

Written on raw asyncio so the endpoint's own CPU cost per request (tens of microseconds) does
not pollute a measurement of the client's overhead.

    python benchmarks/fixed_latency_server.py --port 8123 --latency 0.05
"""

from __future__ import annotations

import argparse
import asyncio
import json

BODY = json.dumps(
    {
        "answer": "A fixed answer.",
        "contexts": [{"id": "d1", "text": "passage one"}, {"id": "d2", "text": "passage two"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 4},
        "model": "bench",
    }
).encode()
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(BODY)).encode()
    + b"\r\n\r\n"
    + BODY
)


class Endpoint(asyncio.Protocol):
    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            length = 0
            for line in self.buffer[:head_end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            self.buffer = self.buffer[end:]
            asyncio.get_running_loop().call_later(self.latency, self._respond)

    def _respond(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(RESPONSE)


async def main(port: int, latency: float) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Endpoint(latency), "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    asyncio.run(main(args.port, args.latency))

"""A minimal Deribit-shaped server for benchmarks: pre-encoded replies and notification bursts.

Run it in its own process so it never competes with the client being measured::

    python benchmarks/frame_server.py --port 0      # prints "PORT <n>" when ready

WebSocket ``/ws/api/v2``:
- ``public/subscribe`` confirms the channels, then streams ``--count`` notifications for the
  first channel, written as pre-built WebSocket frames in large chunks. Payloads are sized
  like production ones: a perpetual's ticker (about 580 bytes of data), a 400-level book
  snapshot then changes of about 230 bytes, 1 to 5 trades per message.
- ``public/get_time`` and ``public/ticker`` are answered with pre-encoded results.
- ``public/blackhole`` is never answered (to hold requests pending).
HTTP ``POST /api/v2/{method}`` answers the same two methods.
Exberry at ``/exberry``: ``createSession`` succeeds, ``orderBookDepth`` streams ``--count``
book events (Add, Executed, Cancelled in turn, ~300 bytes each).
"""

from __future__ import annotations

import argparse
import asyncio
import struct
import sys
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec
from aiohttp import WSMsgType, web

TICKER = {
    "instrument_name": "BTC-PERPETUAL",
    "timestamp": 1732000000000,
    "state": "open",
    "stats": {
        "volume": 1234.5,
        "volume_usd": 79000000.0,
        "high": 66045.0,
        "low": 63455.0,
        "price_change": -0.4512,
        "volume_notional": 79000000.0,
    },
    "open_interest": 512345670.0,
    "best_bid_price": 64749.0,
    "best_bid_amount": 30.0,
    "best_ask_price": 64751.0,
    "best_ask_amount": 170.0,
    "index_price": 64750.12,
    "min_price": 62807.5,
    "max_price": 66692.5,
    "mark_price": 64750.0,
    "last_price": 64750.5,
    "estimated_delivery_price": 64750.12,
    "settlement_price": 64685.25,
    "funding_8h": 0.00003,
    "current_funding": 0.0,
    "interest_value": 0.0,
    "interest_rate": 0.0,
}
TRADE = {
    "trade_seq": 1,
    "trade_id": "SIM-1",
    "timestamp": 1732000000000,
    "tick_direction": 0,
    "price": 64750.5,
    "mark_price": 64750.0,
    "instrument_name": "BTC-PERPETUAL",
    "index_price": 64750.12,
    "direction": "buy",
    "amount": 10.0,
    "contracts": 1.0,
}

_encode = msgspec.json.encode
_decode = msgspec.json.Decoder(dict[str, Any]).decode


def _ws_frame(payload: bytes) -> bytes:
    """An unmasked server-to-client text frame."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 1 << 16:
        return bytes((0x81, 126)) + struct.pack("!H", n) + payload
    return bytes((0x81, 127)) + struct.pack("!Q", n) + payload


def _notification(channel: str, data: Any) -> bytes:
    return _encode(
        {"jsonrpc": "2.0", "method": "subscription", "params": {"channel": channel, "data": data}}
    )


SNAPSHOT_LEVELS = 200  # per side: a 400-level first message, as on a liquid perpetual


def _book(channel: str, change_id: int, snapshot: bool) -> dict[str, Any]:
    # Changes touch two levels a side (about 230 bytes of data), cycling through the book.
    at = change_id % 50
    bids = [
        ["new" if snapshot else "change", 64749.0 - (i + at) * 0.5, 10.0 * (i + 1)]
        for i in range(SNAPSHOT_LEVELS if snapshot else 2)
    ]
    asks = [
        ["new" if snapshot else "change", 64751.0 + (i + at) * 0.5, 10.0 * (i + 2)]
        for i in range(SNAPSHOT_LEVELS if snapshot else 2)
    ]
    data: dict[str, Any] = {
        "type": "snapshot" if snapshot else "change",
        "timestamp": 1732000000000 + change_id,
        "instrument_name": "BTC-PERPETUAL",
        "change_id": change_id,
        "bids": bids,
        "asks": asks,
    }
    if not snapshot:
        data["prev_change_id"] = change_id - 1
    return data


def stream_frames(channel: str, count: int) -> list[bytes]:
    """Pre-framed WebSocket bytes for ``count`` notifications of ``channel``, chunked."""
    return _chunked(_stream_frames(channel, count))


def _stream_frames(channel: str, count: int) -> Iterator[bytes]:
    family = channel.split(".", 1)[0]
    for seq in range(count):
        if family == "book":
            data: Any = _book(channel, 1000 + seq, snapshot=seq == 0)
        elif family == "trades":
            # 1 to 5 trades per message, as Deribit batches them.
            data = [
                dict(TRADE, trade_seq=seq * 5 + n, trade_id=f"SIM-{seq * 5 + n}")
                for n in range(1 + seq % 5)
            ]
        else:
            data = dict(TICKER, timestamp=1732000000000 + seq)
        yield _ws_frame(_notification(channel, data))


def _chunked(frames: Iterable[bytes]) -> list[bytes]:
    """Frames joined into chunks of about 256 KiB, written with one call each."""
    chunks: list[bytes] = []
    batch: list[bytes] = []
    size = 0
    for frame in frames:
        batch.append(frame)
        size += len(frame)
        if size > 256 * 1024:
            chunks.append(b"".join(batch))
            batch, size = [], 0
    if batch:
        chunks.append(b"".join(batch))
    return chunks


def exberry_frames(sid: int, count: int) -> list[bytes]:
    """Pre-framed ``orderBookDepth`` events for stream ``sid``, chunked."""
    return _chunked(_exberry_frames(sid, count))


def _exberry_frames(sid: int, count: int) -> Iterator[bytes]:
    for seq in range(count):
        base = {
            "eventId": seq, "eventTimestamp": 1_700_000_000_000_000_000 + seq,
            "instrument": "BTC", "trackingNumber": seq + 1,
        }  # fmt: skip
        kind = seq % 3
        if kind == 0:
            data: dict[str, Any] = {
                "messageType": "Add", **base, "orderId": 1000 + seq, "mpId": 2,
                "mpOrderId": seq, "side": "Buy", "quantity": 1.5, "price": 64750.5,
            }  # fmt: skip
        elif kind == 1:
            data = {
                "messageType": "Executed", **base, "makerMpId": 2, "makerMpOrderId": seq - 1,
                "makerOrderId": 999 + seq, "takerMpId": 3, "takerMpOrderId": seq,
                "takerOrderId": 2000 + seq, "matchId": seq, "executedQuantity": 0.5,
                "executedPrice": 64750.5,
            }  # fmt: skip
        else:
            data = {
                "messageType": "Cancelled", **base, "orderId": 998 + seq, "mpId": 2,
                "mpOrderId": seq - 2, "side": "Buy", "quantity": 1.0, "price": 64750.5,
                "cancelledQuantity": 1.0,
            }  # fmt: skip
        yield _ws_frame(_encode({"q": "v2/exchange.market/orderBookDepth", "sid": sid, "d": data}))


async def _write_chunks(transport: asyncio.Transport, chunks: list[bytes]) -> None:
    for chunk in chunks:
        transport.write(chunk)
        # Raw writes bypass aiohttp's flow control: wait for the buffer to drain.
        while transport.get_write_buffer_size() > 1 << 20:  # noqa: ASYNC110
            await asyncio.sleep(0.0002)


class FrameServer:
    """Serves benchmark traffic; ``count`` notifications per subscription."""

    def __init__(self, count: int, channels: list[str]) -> None:
        self.count = count
        # Built up front so no measured run pays for encoding the stream.
        self._streams = {channel: stream_frames(channel, count) for channel in channels}
        self._ticker_result = _encode(TICKER)

    def _reply(self, req_id: Any, method: str) -> bytes | None:
        if method == "public/get_time":
            return (
                b'{"jsonrpc":"2.0","id":%s,"result":1732000000000,"usIn":1,"usOut":2,'
                b'"usDiff":1,"testnet":true}' % _encode(req_id)
            )
        if method == "public/ticker":
            return (
                b'{"jsonrpc":"2.0","id":%s,"result":%s,"usIn":1,"usOut":2,"usDiff":1,'
                b'"testnet":true}' % (_encode(req_id), self._ticker_result)
            )
        if method == "public/blackhole":
            return None
        return b'{"jsonrpc":"2.0","id":%s,"result":"ok"}' % _encode(req_id)

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        ws, transport = await _accept(request)
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            req = _decode(msg.data)
            method = req.get("method", "")
            if method in ("public/subscribe", "private/subscribe"):
                channels = req["params"]["channels"]
                await ws.send_frame(
                    b'{"jsonrpc":"2.0","id":%s,"result":%s}'
                    % (_encode(req["id"]), _encode(channels)),
                    WSMsgType.TEXT,
                )
                chunks = self._streams.get(channels[0])
                if chunks is None:
                    chunks = self._streams[channels[0]] = stream_frames(channels[0], self.count)
                await _write_chunks(transport, chunks)
                continue
            reply = self._reply(req.get("id"), method)
            if reply is not None:
                await ws.send_frame(reply, WSMsgType.TEXT)
        return ws

    async def exberry(self, request: web.Request) -> web.WebSocketResponse:
        ws, transport = await _accept(request)
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            req = _decode(msg.data)
            q, sid = req.get("q", ""), req.get("sid", 0)
            if q == "exchange.market/createSession":
                await ws.send_frame(_encode({"q": q, "sid": sid, "d": {}}), WSMsgType.TEXT)
                await ws.send_frame(_encode({"sig": 1, "q": q, "sid": sid}), WSMsgType.TEXT)
            elif q.endswith("orderBookDepth") and "sig" not in req:
                await _write_chunks(transport, exberry_frames(sid, self.count))
        return ws

    async def http(self, request: web.Request) -> web.Response:
        req = _decode(await request.read())
        reply = self._reply(req.get("id"), request.match_info["method"])
        return web.Response(body=reply, content_type="application/json")


async def _accept(request: web.Request) -> tuple[web.WebSocketResponse, asyncio.Transport]:
    """Upgrade to a WebSocket whose transport buffers up to 1 MiB before pausing writes."""
    ws = web.WebSocketResponse(max_msg_size=1 << 22, decode_text=False)
    await ws.prepare(request)
    transport = request.transport
    assert isinstance(transport, asyncio.Transport)
    transport.set_write_buffer_limits(high=1 << 20)
    return ws, transport


async def serve(port: int, count: int, channels: list[str]) -> None:
    server = FrameServer(count, channels)
    app = web.Application()
    app.router.add_get("/ws/api/v2", server.ws)
    app.router.add_post("/api/v2/{method:.+}", server.http)
    app.router.add_get("/exberry", server.exberry)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    print("PORT", runner.addresses[0][1], flush=True)
    # Stop when the parent closes our stdin.
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument(
        "--channel",
        action="append",
        default=[],
        help="channels to pre-build streams for (others are built on demand)",
    )
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.count, args.channel))


if __name__ == "__main__":
    main()

"""The demos behind ``python -m deribit_client demo`` (Deribit, or ``--venue exberry``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator

from . import Credentials, DeribitClient, Gap, RpcError
from ._config import Environment
from .models import CancelFailure, CancelSuccess, cancel_failures, cancelled_orders
from .testing import SIM_CLIENT_ID, SIM_CLIENT_SECRET, DeribitSimulator


@contextlib.asynccontextmanager
async def _target(
    args: argparse.Namespace,
) -> AsyncIterator[tuple[str | None, str, DeribitSimulator | None]]:
    """Yield ``(url, label, simulator)``: the simulator unless --url or --testnet aims
    elsewhere."""
    if args.url:
        yield args.url, args.url, None
    elif args.testnet:
        yield None, "Deribit testnet", None
    else:
        async with DeribitSimulator() as sim:
            sim.start_streams(0.1)  # live-looking market data for subscribers
            yield sim.url, f"bundled simulator at {sim.url}", sim


async def _stream(client: DeribitClient) -> None:
    """Subscribe to a book stream and print a few typed messages."""
    async with client.subscribe("book.BTC-PERPETUAL.100ms") as sub:
        shown = 0
        async for message in sub:
            if isinstance(message, Gap):
                print(f"stream gap           {message}")
                continue
            book = message.data
            print(
                f"book.{book.instrument_name} {book.type:<8} change_id={book.change_id} "
                f"bids={len(book.bids)} asks={len(book.asks)}"
            )
            shown += 1
            if shown == 3:
                break


async def _trade(url: str | None, env: Environment, credentials: Credentials) -> None:
    """Place, edit and cancel an order; show a detailed cancel_all report."""
    async with DeribitClient(url=url, env=env, credentials=credentials) as client:
        assert client.auth is not None
        print(f"-- authenticated as {credentials.client_id} (scope {client.auth.granted_scope})")
        ticker = await client.public.ticker("BTC-PERPETUAL")
        assert ticker.best_bid_price is not None
        price = ticker.best_bid_price - 500
        placed = await client.private.buy(
            "BTC-PERPETUAL", amount=10, price=price, label="demo-order", post_only=True
        )
        order = placed.order
        print(
            f"placed               {order.order_id} {order.direction} {order.amount:g} @ "
            f"{order.price} ({order.order_state})"
        )
        edited = await client.private.edit(order.order_id, amount=20, price=price - 10)
        print(f"edited               {edited.order.amount:g} @ {edited.order.price}")
        summary = await client.private.get_account_summary("BTC")
        print(f"BTC equity           {summary.equity}")
        reports = await client.private.cancel_all(detailed=True)
        print(
            f"cancel_all(detailed) {len(cancelled_orders(reports))} cancelled, "
            f"{len(cancel_failures(reports))} failed"
        )
        for report in reports:
            match report:
                case CancelSuccess(currency=currency, type=kind, result=orders):
                    print(f"                     {currency} {kind}: {len(orders)} cancelled")
                case CancelFailure(currency=currency, error=error):
                    print(f"                     {currency}: failed, {error.code} {error.message}")


async def demo(args: argparse.Namespace) -> int:
    """Walk through the public API over WebSocket, then over HTTP, then show an error."""
    async with _target(args) as (url, label, sim):
        env: Environment = "testnet" if args.testnet else "prod"
        print(f"== deribit_client demo against {label}")
        async with DeribitClient(url=url, env=env, transport="websocket") as client:
            print(f"-- connected over {client.transport_kind} ({client.endpoints.ws_url})")
            hello = await client.public.hello("deribit_client-demo", "0.1.0")
            print(f"server API version   {hello.version}")
            print(f"server time (ms)     {await client.public.get_time()}")
            status = await client.public.status()
            print(f"platform locked      {status.is_locked}")
            index = await client.public.get_index_price("btc_usd")
            print(f"btc_usd index        {index.index_price:,.2f}")
            futures = await client.public.get_instruments("BTC", kind="future")
            names = ", ".join(i.instrument_name for i in futures)
            print(f"BTC futures          {names}")
            perp = await client.public.get_instrument("BTC-PERPETUAL")
            print(f"BTC-PERPETUAL        tick {perp.tick_size}, contract {perp.contract_size} USD")
            ticker = await client.public.ticker("BTC-PERPETUAL")
            print(
                f"ticker               bid {ticker.best_bid_price} / ask {ticker.best_ask_price}"
                f"  mark {ticker.mark_price}  funding 8h {ticker.funding_8h}"
            )
            book = await client.public.get_order_book("BTC-PERPETUAL", depth=5)
            print("order book (top 5)   bids                 asks")
            for (bid, bid_amount), (ask, ask_amount) in zip(book.bids, book.asks, strict=False):
                pad = " " * 21
                print(f"{pad}{bid_amount:>8g} @ {bid:<10g}  {ask_amount:>8g} @ {ask:g}")
            currencies = await client.public.get_currencies()
            print(f"currencies           {', '.join(c.currency for c in currencies)}")
            meta = await client.call_with_meta("public/get_time")
            print(f"raw call + metadata  result={meta.result} usDiff={meta.us_diff} µs")
            try:
                await client.public.get_instrument("BTC-NOPE")
            except RpcError as exc:
                print(f"typed error          {type(exc).__name__}: code={exc.code} {exc.message}")
            await _stream(client)
        async with DeribitClient(url=url, env=env, transport="http") as client:
            print(f"-- connected over {client.transport_kind} ({client.endpoints.http_url})")
            eth = await client.public.ticker("ETH-PERPETUAL")
            print(f"ETH-PERPETUAL        bid {eth.best_bid_price} / ask {eth.best_ask_price}")
        credentials = (
            Credentials(SIM_CLIENT_ID, SIM_CLIENT_SECRET) if sim else Credentials.from_env()
        )
        if credentials is None:
            print("-- no DERIBIT_CLIENT_ID/DERIBIT_CLIENT_SECRET: skipping the trading part")
        else:
            await _trade(url, env, credentials)
    print("== done")
    return 0


async def exberry_demo(args: argparse.Namespace) -> int:
    """A session, a resting order, the book stream seeing a match, and a cancel, against
    the bundled Exberry simulator (or ``--url`` with ``EXBERRY_API_KEY``/``_SECRET``)."""
    import os

    from .exberry import ExberryClient, ExberryError
    from .exberry.models import Add, Executed
    from .testing.exberry import SIM_API_KEY, SIM_API_SECRET, ExberrySimulator

    async with contextlib.AsyncExitStack() as stack:
        if args.url:
            url, key = args.url, os.environ.get("EXBERRY_API_KEY")
            secret = os.environ.get("EXBERRY_API_SECRET")
        else:
            sim = await stack.enter_async_context(ExberrySimulator())
            url, key, secret = sim.url, SIM_API_KEY, SIM_API_SECRET
        print(f"== deribit_client demo: Exberry at {url}")
        client = await stack.enter_async_context(ExberryClient(url, api_key=key, secret=secret))
        print("-- session created (signed with HMAC-SHA256; the secret never leaves)")
        book = await stack.enter_async_context(client.order_book_depth())
        rest = await client.place_order(
            instrument="BTC", side="Sell", quantity=2, price=101.5, mpOrderId=1
        )
        print(f"placeOrder           orderId={rest.orderId} {rest.orderStatus}")
        await client.place_order(
            instrument="BTC", side="Buy", quantity=1, orderType="Market", mpOrderId=2
        )
        for _ in range(2):
            event = await asyncio.wait_for(anext(book), 5)
            if isinstance(event, Add):
                print(f"orderBookDepth Add   {event.side} {event.quantity:g} @ {event.price:g}")
            elif isinstance(event, Executed):
                print(f"orderBookDepth Exec  {event.executedQuantity:g} @ {event.executedPrice:g}")
        cancelled = await client.cancel_order(instrument="BTC", mpOrderId=1)
        print(f"cancelOrder          orderId={cancelled.orderId}")
        try:
            await client.cancel_order(instrument="BTC", mpOrderId=1)
        except ExberryError as exc:
            print(f"{type(exc).__name__}: code={exc.code} {exc.message}")
    print("== done")
    return 0

"""The Exberry simulator answers a malformed request as the venue does, with an error code,
never by failing itself: every qualifier it serves, with each member of a valid request in
turn given a value of another JSON type (what a bot's bug sends). It failed with a logged
traceback and ``1200 General error`` on lists where an instrument or an id goes."""

from __future__ import annotations

import logging
from contextlib import suppress
from typing import Any

import pytest

from deribit_client import DeribitError
from deribit_client.exberry import ExberryClient
from deribit_client.testing import ExberrySimulator
from deribit_client.testing.exberry import SIM_BROKER_TOKEN, trader_key

# One valid request per qualifier (the documentation samples', on the simulator's
# instruments and accounts).
REQUESTS: dict[str, dict[str, Any]] = {
    "v1/exchange.market/placeOrder": {
        "mpOrderId": 123, "orderType": "Limit", "side": "Buy", "instrument": "BTC",
        "quantity": 1, "price": 99.5, "timeInForce": "GTC",
    },
    "v1/exchange.market/replaceOrder": {"orderId": 1000, "instrument": "BTC", "quantity": 2,
                                        "price": 99},
    "v1/exchange.market/modifyOrder": {"orderId": 1000, "instrument": "BTC", "quantity": 1},
    "v1/exchange.market/cancelOrder": {"orderId": 1000, "instrument": "BTC"},
    "v1/exchange.market/massCancel": {"instrument": "BTC", "targetEntities": ["Order", "RFQ"]},
    "v1/exchange.market/massOrderStatus": {},
    "v2/exchange.market/orderBookState": {},
    "v1/exchange.market/createTradeReport": {
        "instrument": "BTC", "type": "Block", "flow": "LockedIn", "externalTradeId": 7,
        "price": 100, "quantity": 2,
        "buy": {"mpName": "Participant1"}, "sell": {"mpName": "Participant2"},
    },
    "v1/exchange.market/cancelAllegedTradeReport": {"instrument": "BTC", "allegedTradeId": 9},
    "v1/exchange.market/submitRFQ": {"mpRfqId": 123, "instrument": "BTC", "side": "Buy",
                                     "quantity": 2},
    "v1/exchange.market/cancelRFQ": {"instrument": "BTC", "rfqId": 1},
    "v1/exchange.market/submitQuote": {
        "mpQuoteId": 5, "rfqId": 1, "instrument": "BTC",  # other-mp's RFQ
        "quoteDetails": [{"side": "Sell", "price": 100, "quantity": 2}],
    },
    "v1/exchange.market/acceptQuote": {"quoteId": 123, "instrument": "BTC", "side": "Buy",
                                       "price": 100, "quantity": 2},
    "v1/exchange.market/cancelQuote": {"instrument": "BTC", "quoteId": 1},
    "v1/exchange.ledger/createTransactionRequest": {"type": "Deposit", "ledgerAccountId": 1,
                                                    "assetId": 44, "amount": "1"},
    "v1/exchange.ledger/cancelTransactionRequest": {"id": 1},
    "v1/exchange.ledger/createAllegedTransfer": {
        "type": "FoP", "externalId": "12341353", "counterpartyMpId": "2", "ledgerAccountId": 1,
        "sendingAssets": [{"assetId": "44", "amount": "1"}],
    },
    "v1/exchange.ledger/cancelAllegedTransfer": {"allegedTransferId": 311},
    "v1/exchange.ledger/createCashTransfer": {
        "type": "Cash", "senderAccountId": "1", "receiverAccountId": "40",
        "senderAssets": [{"assetId": "44", "amount": "1"}],
    },
    "v2/exchange.reporting/mp/orders": {
        "dateFrom": "2025-05-10T00:00:01", "statuses": ["Active"], "instruments": ["BTC"],
        "orderId": 1000, "orderBy": {"field": "createdAt", "direction": "Asc"}, "limit": 5,
    },
    "v3/exchange.reporting/mp/trades": {"dateFrom": "2025-10-01T00:00:01", "limit": 2,
                                        "offset": 5, "actionTypes": ["MatchedTrade"]},
    "v1/exchange.reporting/mp/allegedTrades": {"dateFrom": "2020-10-01T00:00:01"},
    "v1/exchange.reporting/mp/rfqs": {"dateFrom": "2022-12-01T00:00:01", "status": "Active"},
    "v1/exchange.reporting/mp/quotes": {"dateTo": "2025-12-12T00:00:01", "status": "Executed"},
    "v1/exchange.reporting/mp/transactionRequests": {"dateFrom": "2025-01-01T08:42:16.092"},
    "v1/exchange.reporting/mp/transactions": {"dateTo": "2025-12-31T08:42:16.092", "limit": 5},
    "v1/exchange.reporting/mp/allegedTransfers": {"limit": 5, "offset": 0},
    "v1/exchange.reporting/mp/fees": {"dateFrom": "2026-03-01", "ledgerAccountId": "826",
                                      "groupBy": "Type", "types": ["Trading"]},
    "v1/exchange.reporting/mp/holdingsSummary": {"eodDateFrom": "2025-12-01", "limit": 10},
    "v1/exchange.reporting/mp/positions": {"positionAccountId": "12940",
                                           "reportType": "Account", "limit": 25},
}  # fmt: skip
STREAMS: dict[str, dict[str, Any]] = {
    "v2/exchange.market/orderBookDepth": {"trackingNumber": 100},
    "v1/exchange.market/executionReports": {"trackingNumber": 3},
    "v1/exchange.market/trades": {"trackingNumber": 3},
    "v1/exchange.ledger/accountBalance": {"accountId": "37"},
}
MARKET_DATA: dict[str, dict[str, Any]] = {
    "v1/exchange.marketdata/lightTickers": {"symbols": ["BTC"], "interval": 2000},
    "v1/exchange.marketdata/partialOrderBook": {"symbol": "BTC", "levels": 5,
                                                "interval": 1000, "decimals": 2},
    "v1/exchange.marketdata/liveTrades": {"symbol": "BTC", "limit": 100},
    "v1/exchange.marketdata/candles": {"symbol": "BTC", "timespan": "MINUTE", "multiplier": 1,
                                       "from": 1701159900},
    "v1/exchange.marketdata/instrumentListWithPagination": {"fromSymbol": "A", "limit": 2},
    "v1/exchange.marketdata/auctionIndicativeEP": {"symbol": "BTC", "interval": 100},
}  # fmt: skip
MARKET_DATA_REQUESTS: dict[str, dict[str, Any]] = {
    "v1/exchange.marketdata.history/candles": {"symbol": "BTC", "timespan": "MINUTE",
                                               "from": 1712970598, "to": 1713094027},
    "v1/exchange.marketdata/getSettlementPrices": {"symbols": ["BTC", "ETH"]},
}  # fmt: skip
BROKER: dict[str, dict[str, Any]] = {
    "v1/broker.oms/placeOrder": {"orderType": "Limit", "side": "Buy", "instrument": "BTC",
                                 "quantity": 1, "price": 99, "timeInForce": "GTC"},
    "v1/broker.oms/cancelOrder": {"instrument": "BTC", "orderId": 1000},
    "v1/broker.account/ordersHistory": {"status": "Active", "dateFrom": 1647532880,
                                        "limit": 10, "orderBy": {"field": "timestamp"}},
    "v1/broker.account/tradesHistory": {"istrument": "BTC", "dateTo": 1647532889, "offset": 0},
    "v1/broker.wallet/transactions": {"types": ["Deposit"], "dateFrom": 1657550477},
}  # fmt: skip
BROKER_STREAMS: dict[str, dict[str, Any]] = {"v1/broker.account/orders": {"instrument": "BTC"}}

WRONG: tuple[Any, ...] = ([], {}, [1], [{}], 1.5, -1, True, "x", None)
"""A value of each JSON type (one of them is wrong for any member)."""


def malformed(requests: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Each request with one member replaced by each wrong value."""
    return [(q, {**d, name: value}) for q, d in requests.items() for name in d for value in WRONG]


async def answered(client: ExberryClient, q: str, d: dict[str, Any]) -> None:
    with suppress(DeribitError):  # the venue's refusal: what is expected of most
        await client.request(q, d)


async def opened(client: ExberryClient, q: str, d: dict[str, Any]) -> None:
    with suppress(DeribitError):
        async with client.stream(q, d):
            pass  # sent; the sentinel request below is answered after it


async def test_no_malformed_request_makes_the_simulator_fail(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="deribit_client.testing")
    async with ExberrySimulator(tokens={"trader", SIM_BROKER_TOKEN}) as sim:
        # The trade reports' sides; ledger accounts for the ledger requests and the
        # broker's trading.
        assert sim.participant(trader_key("trader")).mp_name == "Participant1"
        assert sim.participant("other-mp").mp_name == "Participant2"
        sim.ledger.open_account(trader_key("trader"), 1, account_id=37, balances={"USD": 100})
        sim.ledger.open_account("other-mp", 40, account_id=41)
        [rfq] = sim.rfq.submit_rfq("other-mp", {"mpRfqId": 1, "instrument": "BTC",
                                                "side": "Buy", "quantity": 2})  # fmt: skip
        assert rfq["rfqId"] == REQUESTS["v1/exchange.market/submitQuote"]["rfqId"]
        sim.ledger.open_account(trader_key(SIM_BROKER_TOKEN), 2, balances={"USD": 100})
        async with (
            ExberryClient(sim.url, token="trader") as trader,
            ExberryClient(sim.url, public_token="sim-md-token") as md,
            ExberryClient(sim.url, broker_token=SIM_BROKER_TOKEN) as broker,
        ):
            for client, requests, streams in (
                (trader, REQUESTS, STREAMS),
                (md, MARKET_DATA_REQUESTS, MARKET_DATA),
                (broker, BROKER, BROKER_STREAMS),
            ):
                for q, d in malformed(requests):
                    await answered(client, q, d)
                for q, d in malformed(streams):
                    await opened(client, q, d)
            # Frames are handled in their order on a socket: once these are answered,
            # every frame before them was.
            await trader.mass_order_status()
            await md.settlement_prices(symbols=["BTC"])
            await broker.broker_orders_history()
    failures = [r.getMessage() for r in caplog.records if "simulator failed" in r.getMessage()]
    assert failures == []


def test_every_request_the_simulator_serves_is_tried() -> None:
    # A handler added later is fuzzed too: it needs a valid request in the tables above.
    from deribit_client.testing.exberry import _BROKER_HANDLERS, _HANDLERS

    tried = {q.split("/", 1)[1] for q in (*REQUESTS, *BROKER)}
    names = {q.removeprefix("exchange.market/").removeprefix("broker") for q in tried}
    assert set(_HANDLERS) | set(_BROKER_HANDLERS) <= names

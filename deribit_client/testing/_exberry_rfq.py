"""The Exberry simulator's request-for-quote desk (S1 ``other/rfq``): initiators submit,
cancel and accept, dealers quote and cancel; RFQs expire at their ``expireTime``.

Who hears what follows the documentation's workflows: every participant sees an RFQ's
life on ``orderBookDepth`` (``RFQCreated``, ``RFQCancelled``, ``RFQEnded``); its
initiator also on ``executionReports``; a quote's life (``QuoteCreated``,
``QuoteCancelled``, ``QuoteExecuted``) goes to its dealer and to the RFQ's initiator,
who is not told the dealer's own ids, parties or account. An accepted quote is a trade
(``RFQTrade`` on both sides' ``trades``, ``tradingMode`` ``RQ``) off the order book.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from ._exberry_rules import (
    BY_CREATION,
    Fail,
    Participant,
    Types,
    check_parties,
    iso,
    public,
    report_times,
)
from ._exberry_rules import typed as typed_members
from ._logs import UsedIds, forget_closed

__all__ = ["MAX_RFQ_EXPIRE_TIME", "RfqDesk"]

MAX_RFQ_EXPIRE_TIME = 60_000.0
"""Seconds an RFQ lives at most, and when it names no ``expireTime``
(``maxRFQExpireTimePeriod``: the RFQCreated sample expires 60,000 s after its event)."""

_SIDES = ("Buy", "Sell")
_ACCOUNT_TYPES = ("Client", "House")
_RFQ_TYPES: Types = {
    "mpRfqId": int, "instrument": str, "side": str, "quantity": float, "expireTime": int,
    "accountType": str, "rfqId": int,
}  # fmt: skip
_QUOTE_TYPES: Types = {
    "mpQuoteId": int, "instrument": str, "rfqId": int, "accountType": str, "quoteId": int,
    "side": str, "price": float, "quantity": float,
}  # fmt: skip
"""Members and their JSON types (``parties`` and ``quoteDetails`` are checked apart)."""
_RFQ_STATUSES = ("Active", "Cancelled", "Ended")
_QUOTE_STATUSES = ("Active", "Executed", "Cancelled")


class Venue(Protocol):
    """What the desk uses of the simulator it is part of."""

    clock: Callable[[], float]
    instruments: dict[str, dict[str, Any]]
    history: int

    @property
    def _event_ids(self) -> Iterator[int]: ...
    @property
    def _match_ids(self) -> Iterator[int]: ...

    def participant(self, key: str) -> Participant: ...
    def _emit(self, kind: str, owner: str | None, payload: dict[str, Any]) -> None: ...
    def _next_action(self) -> int: ...
    def _now_ns(self) -> int: ...
    def _arm(self, expires: float) -> None: ...
    def _instrument_id(self, symbol: str) -> int: ...
    def _check_rfq(self, symbol: str) -> None: ...
    def _trade_date(self, instrument: str) -> str: ...
    def _check_terms(
        self,
        instrument: str,
        quantity: float,
        prices: tuple[float | None, ...],
        *display: float,
        ticked: bool = True,
    ) -> None: ...
    def _page(
        self, d: dict[str, Any], rows: list[dict[str, Any]], key: str, sort_fields: tuple[str, ...]
    ) -> list[dict[str, Any]]: ...


class RfqDesk:
    """RFQs and quotes of one simulator (``sim.rfq``); tests act for other participants
    through the request methods, as in ``sim.rfq.submit_quote("dealer", {...})``."""

    def __init__(self, venue: Venue, max_expire_time: float = MAX_RFQ_EXPIRE_TIME) -> None:
        self._venue = venue
        self.max_expire_time = max_expire_time
        self.rfqs: dict[int, dict[str, Any]] = {}
        """By ``rfqId``: ``Active`` until cancelled, expired (``Cancelled``) or ``Ended``."""
        self.quotes: dict[int, dict[str, Any]] = {}
        """By ``quoteId``: ``Active`` until ``Executed`` or ``Cancelled``."""
        self._rfq_ids = itertools.count(1)
        self._quote_ids = itertools.count(1)
        # (participant, id name, its value): open RFQs' and quotes' ids are always used
        self._used = UsedIds[tuple[str, str, int]](venue.history, self._open_ids)

    # -- initiator ------------------------------------------------------------------------

    def submit_rfq(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``submitRFQ``: ``mpRfqId`` (unique per participant, ``1002``), ``instrument``,
        ``side``, ``quantity`` (the instrument's quantity rules), optional
        ``expireTime`` (epoch seconds, in the future and within :attr:`max_expire_time`;
        that far by default), ``accountType``, ``parties``."""
        venue = self._venue
        _require(d, "mpRfqId", "instrument", "side", "quantity")
        _check_types(d, _RFQ_TYPES)
        if d["mpRfqId"] <= 0:
            raise Fail(1001, "Wrong mpRfqId")
        if d["side"] not in _SIDES:
            raise Fail(1001, "Wrong side")
        if d["quantity"] <= 0:
            raise Fail(1001, "quantity must be > 0")
        _check_account(d)
        instrument = _instrument(venue, d)
        venue._check_terms(instrument, d["quantity"], ())
        now = venue.clock()
        expires = d.get("expireTime", math.floor(now + self.max_expire_time))
        if not now < expires <= now + self.max_expire_time:
            raise Fail(1001, "Wrong expireTime")
        self._claim(mp, "mpRfqId", d["mpRfqId"])
        venue._next_action()
        who = venue.participant(mp)
        rfq = self._keep(self.rfqs, next(self._rfq_ids), {
            "mpRfqId": d["mpRfqId"], "instrument": instrument,
            "side": d["side"], "quantity": d["quantity"], "expireTime": expires,
            "accountType": d.get("accountType"), "parties": d.get("parties"),
            "mpId": who.mp_id, "mpName": who.mp_name, "status": "Active",
            "cancelReason": None, "_mp": mp, "_created": venue._now_ns(),
        })  # fmt: skip
        self._rfq_event("RFQCreated", rfq, expireTime=expires)
        venue._arm(expires)
        return [{"rfqId": rfq["rfqId"], "rfqStatus": "Accepted"}]

    def cancel_rfq(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``cancelRFQ`` by ``rfqId`` or ``mpRfqId``: the RFQ and its open quotes."""
        rfq = self._own(mp, d, self.rfqs, "rfqId", "mpRfqId", "RFQ")
        self._venue._next_action()
        self.end_rfq(rfq, "CancelRequest")
        return [{"rfqId": rfq["rfqId"]}]

    def accept_quote(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``acceptQuote``: the initiator trades with an open quote on its open RFQ,
        naming its own ``side`` and the quote's ``price`` and ``quantity`` (``1001``
        ``<name> must be = <value>`` when they differ)."""
        venue = self._venue
        _require(d, "quoteId", "instrument", "side", "price", "quantity")
        _check_types(d, _QUOTE_TYPES)
        instrument = _instrument(venue, d)
        quote = self.quotes.get(d["quoteId"])
        if (
            quote is None or quote["status"] != "Active" or quote["instrument"] != instrument
            or quote["_rfq"]["_mp"] != mp
        ):  # fmt: skip
            raise Fail(1041, f"Quote {d['quoteId']} not found for that instrument")
        rfq, (detail,) = quote["_rfq"], quote["quoteDetails"]
        for name, expected in (("side", rfq["side"]), ("price", detail["price"]),
                               ("quantity", detail["quantity"])):  # fmt: skip
            if d[name] != expected:
                raise Fail(1001, f"{name} must be = {expected}")
        venue._next_action()
        trade_id = next(venue._match_ids)
        quote["status"] = "Executed"
        event_id = next(venue._event_ids)
        for record, role, side in ((rfq, "Taker", rfq["side"]), (quote, "Maker", detail["side"])):
            mine = {
                "instrument": instrument, "side": side, "price": detail["price"],
                "quantity": detail["quantity"], "mpId": record["mpId"],
                "mpName": record["mpName"],
                **{k: record[k] for k in ("accountType", "parties") if record[k]},
            }  # fmt: skip
            venue._emit("executionReports", record["_mp"], {
                "messageType": "QuoteExecuted", **mine, "quoteId": quote["quoteId"],
                "rfqId": rfq["rfqId"], "tradeId": trade_id, "tradingMode": "RQ",
                **({"mpRfqId": rfq["mpRfqId"]} if record is rfq
                   else {"mpQuoteId": quote["mpQuoteId"]}),
                "eventId": event_id, "eventTimestamp": venue._now_ns(),
            })  # fmt: skip
            venue._emit("trades", record["_mp"], {
                "eventId": event_id, "timestamp": venue._now_ns(), "actionType": "RFQTrade",
                "orderId": record["rfqId" if record is rfq else "quoteId"],
                "mpOrderId": record["mpRfqId" if record is rfq else "mpQuoteId"],
                **mine, "instrumentId": venue._instrument_id(instrument), "tradeId": trade_id,
                "tradingMode": "RQ", "makerTaker": role, "tradeDate": venue._trade_date(instrument),
                "multiLegReportingType": "SingleSecurity",
            })  # fmt: skip
        self._touch(quote, event_id)
        self._end_rfq(rfq, "Ended", "RFQEnded")
        return [{"tradeId": trade_id}]

    # -- dealer ---------------------------------------------------------------------------

    def submit_quote(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``submitQuote``: ``mpQuoteId`` (unique per participant), ``instrument``, the
        open ``rfqId`` (``1041``), one ``quoteDetails`` entry on the side opposite the
        RFQ's for its whole quantity, priced by the instrument's rules; optional
        ``accountType`` and ``parties``."""
        venue = self._venue
        _require(d, "mpQuoteId", "instrument", "rfqId", "quoteDetails")
        _check_types(d, _QUOTE_TYPES)
        if d["mpQuoteId"] <= 0:
            raise Fail(1001, "Wrong mpQuoteId")
        _check_account(d)
        instrument = _instrument(venue, d)
        rfq = self.rfqs.get(d["rfqId"])
        if rfq is None or rfq["status"] != "Active" or rfq["instrument"] != instrument:
            raise Fail(1041, f"RFQ {d['rfqId']} not found")
        details = d["quoteDetails"]
        if type(details) is not list or len(details) != 1:
            raise Fail(1001, "Wrong quoteDetails")  # "currently only one object is allowed"
        (detail,) = details
        if not typed_members(detail, _QUOTE_TYPES):
            raise Fail(1001, "Wrong quoteDetails")
        _require(detail, "side", "price", "quantity")
        wanted = "Sell" if rfq["side"] == "Buy" else "Buy"
        if detail["side"] != wanted:
            raise Fail(1001, f"{wanted} side Quote is required")
        if detail["price"] <= 0:
            raise Fail(1001, "price must be > 0")
        if detail["quantity"] != rfq["quantity"]:
            raise Fail(1001, f"quantity must be = {rfq['quantity']}")
        venue._check_terms(instrument, detail["quantity"], (detail["price"],))
        self._claim(mp, "mpQuoteId", d["mpQuoteId"])
        venue._next_action()
        who = venue.participant(mp)
        quote = self._keep(self.quotes, next(self._quote_ids), {
            "mpQuoteId": d["mpQuoteId"],
            "rfqId": rfq["rfqId"], "instrument": instrument,
            "quoteDetails": [{k: detail[k] for k in ("side", "price", "quantity")}],
            "accountType": d.get("accountType"), "parties": d.get("parties"),
            "mpId": who.mp_id, "mpName": who.mp_name, "status": "Active",
            "cancelReason": None, "_mp": mp, "_rfq": rfq, "_created": venue._now_ns(),
        })  # fmt: skip
        self._quote_event("QuoteCreated", quote)
        return [{"quoteId": quote["quoteId"], "quoteStatus": "Accepted"}]

    def cancel_quote(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``cancelQuote`` by ``quoteId`` or ``mpQuoteId``."""
        quote = self._own(mp, d, self.quotes, "quoteId", "mpQuoteId", "Quote")
        self._venue._next_action()
        self.end_quote(quote, "CancelRequest")
        return [{"quoteId": quote["quoteId"]}]

    # -- the rest of the venue ------------------------------------------------------------

    def end_rfq(self, rfq: dict[str, Any], reason: str) -> None:
        """Cancel open ``rfq`` for ``reason`` (``CancelRequest``, ``Expiration``) with
        its open quotes."""
        self._end_rfq(rfq, "Cancelled", reason)

    def end_quote(self, quote: dict[str, Any], reason: str) -> None:
        """Cancel open ``quote`` for ``reason`` (its dealer and the initiator hear)."""
        quote["status"], quote["cancelReason"] = "Cancelled", reason
        self._quote_event("QuoteCancelled", quote, cancelReason=reason)

    def expire(self, now: float) -> float:
        """Cancel the open RFQs whose ``expireTime`` ``now`` has reached (each its own
        action); returns the soonest expiry left (``inf``: none)."""
        for rfq in [r for r in self.rfqs.values() if r["status"] == "Active"]:
            if rfq["expireTime"] <= now:
                self._venue._next_action()
                self.end_rfq(rfq, "Expiration")
        active = (r["expireTime"] for r in self.rfqs.values() if r["status"] == "Active")
        return float(min(active, default=math.inf))

    def book_state(self) -> list[dict[str, Any]]:
        """``orderBookState``'s ``RFQ`` items: every open RFQ."""
        return [
            {"messageType": "RFQ", **{k: r[k] for k in (
                "rfqId", "side", "instrument", "quantity", "expireTime")}}
            for r in self.rfqs.values() if r["status"] == "Active"
        ]  # fmt: skip

    def statuses(self, mp: str) -> list[dict[str, Any]]:
        """``massOrderStatus``'s ``RFQStatus`` (own open RFQs) and ``QuoteStatus`` items
        (open quotes by ``mp`` or on its RFQs)."""
        items = [
            {"messageType": "RFQStatus", **self._rfq_view(r, "mpQuoteReqId"), "marketModel": "RQ",
             "status": r["status"], "lastEventTimestamp": r["_last_event"],
             "lastEventId": r["lastEventId"]}
            for r in self.rfqs.values() if r["_mp"] == mp and r["status"] == "Active"
        ]  # fmt: skip
        for quote in self.quotes.values():
            if quote["status"] == "Active" and mp in (quote["_mp"], quote["_rfq"]["_mp"]):
                view = self._quote_view(quote, dealer=quote["_mp"] == mp)
                items.append({"messageType": "QuoteStatus", **view, "marketModel": "RQ",
                              "status": "Active", "lastEventTimestamp": quote["_last_event"],
                              "lastEventId": quote["lastEventId"]})  # fmt: skip
        return items

    def mass_cancel(
        self, targeted: Callable[[str, Iterable[dict[str, Any]]], list[Any]]
    ) -> dict[str, int]:
        """``massCancel``'s RFQ and Quote entities: ``targeted`` picks the open records
        the request hits; an RFQ takes its quotes with it. The counters by entity."""
        rfqs = targeted("RFQ", self.rfqs.values())
        for rfq in rfqs:
            self.end_rfq(rfq, "CancelRequest")
        quotes = targeted("Quote", self.quotes.values())  # those still open
        for quote in quotes:
            self.end_quote(quote, "CancelRequest")
        return {"RFQ": len(rfqs), "Quote": len(quotes)}

    def report_rfqs(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``mp/rfqs``: the initiator's RFQs, filtered by ``dateFrom``/``dateTo`` (their
        creation), ``status``, ``instruments``, ``mpId``, ``rfqId`` (with instruments),
        by ``createdAt`` or ``lastEventTimestamp``."""
        _report_filters(d, _RFQ_STATUSES, "rfqId")
        rows = [
            {**public({k: r[k] for k in (
                "rfqId", "instrument", "mpId", "mpName", "status", "side", "quantity",
                "accountType", "parties", "cancelReason", "lastEventId")}),
             "mpQuoteReqId": r["mpRfqId"],  # the sample's name (the table says mpRfqId)
             "instrumentId": self._venue._instrument_id(r["instrument"]),
             "expireTime": iso(r["expireTime"] * 10**9)[:19],
             **report_times(r["_created"], r["_last_event"])}
            for r in self.rfqs.values() if r["_mp"] == mp
        ]  # fmt: skip
        return self._venue._page(d, rows, "rfqs", BY_CREATION)

    def report_quotes(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``mp/quotes``: the dealer's quotes (``side``, ``price``, ``quantity`` of their
        detail), filtered like :meth:`report_rfqs` and by ``quoteId``."""
        _report_filters(d, _QUOTE_STATUSES, "rfqId", "quoteId")
        rows = [
            {**public({k: q[k] for k in (
                "quoteId", "mpQuoteId", "rfqId", "instrument", "mpId", "mpName", "status",
                "accountType", "parties", "cancelReason", "lastEventId")}),
             **q["quoteDetails"][0],
             "instrumentId": self._venue._instrument_id(q["instrument"]),
             **report_times(q["_created"], q["_last_event"])}
            for q in self.quotes.values() if q["_mp"] == mp
        ]  # fmt: skip
        return self._venue._page(d, rows, "quotes", BY_CREATION)

    # -- internals ------------------------------------------------------------------------

    def _claim(self, mp: str, name: str, value: int) -> None:
        if (mp, name, value) in self._used:
            raise Fail(1002, f"{name} is already in use")
        self._used.claim((mp, name, value))

    def _open_ids(self) -> Iterator[tuple[str, str, int]]:
        for records, name in ((self.rfqs, "mpRfqId"), (self.quotes, "mpQuoteId")):
            for record in records.values():
                if record["status"] == "Active":
                    yield record["_mp"], name, record[name]

    def _keep(
        self, records: dict[int, dict[str, Any]], ident: int, record: dict[str, Any]
    ) -> dict[str, Any]:
        """Add ``record`` as number ``ident`` (its ``rfqId`` or ``quoteId``), forgetting
        all but the newest ``history`` closed ones when there are twice that many (in
        batches: amortised O(1))."""
        if len(records) >= 2 * self._venue.history:
            forget_closed(records, lambda r: r["status"] != "Active", self._venue.history)
        key = "rfqId" if records is self.rfqs else "quoteId"
        records[ident] = record = {key: ident, **record}
        return record

    def _own(
        self,
        mp: str,
        d: dict[str, Any],
        records: dict[int, dict[str, Any]],
        by_id: str,
        by_mp_id: str,
        what: str,
    ) -> dict[str, Any]:
        """The participant's open record a cancel names (``1103``, ``1104``, ``1100``
        as the venue words them)."""
        if "instrument" not in d:
            raise Fail(1103, "Missing fields: instrument")
        if by_id in d and by_mp_id in d:
            raise Fail(1104, f"Please use only one from {by_id} or {by_mp_id}")
        if by_id not in d and by_mp_id not in d:
            raise Fail(1103, f"Missing fields: {by_id} or {by_mp_id}")
        _check_types(d, _RFQ_TYPES if what == "RFQ" else _QUOTE_TYPES)
        instrument = _instrument(self._venue, d)
        key = by_id if by_id in d else by_mp_id
        for record in records.values():
            if (
                record["_mp"] == mp and record["instrument"] == instrument
                and record["status"] == "Active" and record[key] == d[key]
            ):  # fmt: skip
                return record
        raise Fail(1100, f"{what} not found for that instrument")

    def _end_rfq(self, rfq: dict[str, Any], status: str, reason: str) -> None:
        """Close ``rfq`` and its open quotes, in the documented order: a ``Cancelled``
        one (for ``reason``) is announced before its quotes are cancelled
        (``RFQCancelled`` or ``Expiration`` their reason), an ``Ended`` one after
        (``RFQEnded``)."""
        rfq["status"] = status
        if status == "Cancelled":
            rfq["cancelReason"] = reason
            self._rfq_event("RFQCancelled", rfq, cancelReason=reason)
            reason = "RFQCancelled" if reason == "CancelRequest" else reason
        for quote in self.quotes.values():
            if quote["_rfq"] is rfq and quote["status"] == "Active":
                self.end_quote(quote, reason)
        if status == "Ended":
            self._rfq_event("RFQEnded", rfq)

    def _rfq_view(self, rfq: dict[str, Any], own_id: str) -> dict[str, Any]:
        """An RFQ as its initiator sees it, its own id under ``own_id`` (the samples'
        ``mpQuoteReqId`` or the field tables' ``mpRfqId``)."""
        return public({k: rfq[k] for k in (
            "rfqId", "side", "instrument", "quantity", "mpId", "mpName", "accountType",
            "parties", "expireTime")}) | {own_id: rfq["mpRfqId"]}  # fmt: skip

    def _rfq_event(self, kind: str, rfq: dict[str, Any], **extra: Any) -> None:
        """An RFQ event: to its initiator on ``executionReports`` (``mpRfqId``, as the
        field table names it), and on the public ``orderBookDepth`` (``mpQuoteReqId``,
        as the samples do; ``expireTime`` only when created)."""
        venue = self._venue
        event_id, now = next(venue._event_ids), venue._now_ns()
        venue._emit("executionReports", rfq["_mp"], {
            "messageType": kind, **self._rfq_view(rfq, "mpRfqId"), "eventId": event_id,
            "eventTimestamp": now, **extra,
        })  # fmt: skip
        venue._emit("orderBookDepth", None, {
            "messageType": kind, "eventTimestamp": now, "eventId": event_id,
            "instrument": rfq["instrument"], "rfqId": rfq["rfqId"], "mpId": rfq["mpId"],
            "mpQuoteReqId": rfq["mpRfqId"], "side": rfq["side"], "quantity": rfq["quantity"],
            **({"expireTime": rfq["expireTime"]} if kind == "RFQCreated" else {}),
        })  # fmt: skip
        self._touch(rfq, event_id)

    def _quote_view(self, quote: dict[str, Any], dealer: bool) -> dict[str, Any]:
        """A quote as its dealer sees it, or (not ``dealer``) the RFQ's initiator: without
        the dealer's ids, account and parties, with its own ``mpRfqId``."""
        if dealer:
            return public({k: quote[k] for k in (
                "instrument", "mpQuoteId", "quoteId", "rfqId", "parties", "accountType",
                "quoteDetails", "mpId", "mpName")})  # fmt: skip
        return {k: quote[k] for k in ("instrument", "quoteId", "rfqId", "quoteDetails")} | {
            "mpRfqId": quote["_rfq"]["mpRfqId"]
        }

    def _quote_event(self, kind: str, quote: dict[str, Any], **extra: Any) -> None:
        """A quote event to its dealer and to the RFQ's initiator."""
        venue = self._venue
        event_id, now = next(venue._event_ids), venue._now_ns()
        for owner, dealer in ((quote["_mp"], True), (quote["_rfq"]["_mp"], False)):
            venue._emit("executionReports", owner, {
                "messageType": kind, **self._quote_view(quote, dealer), "eventId": event_id,
                "eventTimestamp": now, **extra,
            })  # fmt: skip
        self._touch(quote, event_id)

    def _touch(self, record: dict[str, Any], event_id: int) -> None:
        record["lastEventId"], record["_last_event"] = event_id, self._venue._now_ns()


def _require(d: dict[str, Any], *names: str) -> None:
    missing = [name for name in names if name not in d]
    if missing:
        raise Fail(1000, f"Missing fields: {', '.join(missing)}")


def _check_types(d: dict[str, Any], types: Types) -> None:
    if not typed_members(d, types):
        raise Fail(1001, "Invalid request data")
    check_parties(d.get("parties", []))


def _check_account(d: dict[str, Any]) -> None:
    if d.get("accountType", "House") not in _ACCOUNT_TYPES:
        raise Fail(1001, "Wrong accountType")


def _instrument(venue: Venue, d: dict[str, Any]) -> str:
    """The instrument a request names, known and open for RFQs."""
    instrument: str = d["instrument"]
    if instrument not in venue.instruments:
        raise Fail(1010, f"Instrument {instrument} not found")
    venue._check_rfq(instrument)
    return instrument


def _report_filters(d: dict[str, Any], statuses: tuple[str, ...], *ids: str) -> None:
    """``status`` one of ``statuses``; the ``ids`` filters need ``instruments``."""
    if "status" in d and d["status"] not in statuses:
        raise Fail(1001, "Wrong Status")
    if any(name in d for name in ids) and not d.get("instruments"):
        raise Fail(1103, "Missing fields: instruments")

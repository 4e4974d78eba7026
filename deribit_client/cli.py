"""The command line: ``deribit`` (or ``python -m deribit_client``).

    deribit call public/get_index_price index_name=btc_usd      # a typed result, readable
    deribit call private/buy --help                               # Deribit's parameter docs
    deribit tail ticker.BTC-PERPETUAL.100ms --count 5             # notifications as JSON lines
    deribit record book.BTC-PERPETUAL.100ms -o book.jsonl --count 100
    deribit decode book.jsonl                                     # offline, typed
    deribit sim --port 8080                                       # the simulators, standalone
    deribit demo [--venue exberry]

Credentials come from ``DERIBIT_CLIENT_ID`` / ``DERIBIT_CLIENT_SECRET``. Failures print one
line naming the problem and exit non-zero; ``-v`` adds tracebacks and debug logs.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import msgspec

from . import (
    ClientError,
    DeribitClient,
    DeribitError,
    Gap,
    RpcError,
    decode_notification,
    decode_response,
)
from ._catalogue import METHODS, ParamFacts, result_type_of
from ._config import Environment, endpoints_for
from ._core.values import check_int, check_length, epoch_ms, int_bounds
from ._demo import demo, exberry_demo
from .transports import WebSocketConnector, WebSocketTransport

if TYPE_CHECKING:  # the simulators are imported only when the sim command runs
    from .testing._exberry_ledger import LedgerDesk

__all__ = ["main"]

_encode = msgspec.json.Encoder().encode


class CliError(Exception):
    """A problem with what was typed: printed as one line, exit status 2."""


# -- parameters ---------------------------------------------------------------------------


def parse_params(method: str, items: Sequence[str]) -> dict[str, Any]:
    """``name=value`` pairs, each value parsed by the parameter's declared type.

    Strings stay strings even when they look numeric (``label=12345``); numbers, booleans,
    arrays and objects are parsed; a method the catalogue does not know takes JSON values
    where they parse, strings otherwise.
    """
    facts = METHODS.get(method)
    known = {p.name: p for p in facts.params} if facts is not None else None
    params: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name:
            raise CliError(f"expected name=value, got {item!r}")
        if known is None:
            params[name] = _json_or_str(raw)
            continue
        param = known.get(name)
        if param is None:
            names = ", ".join(known) or "none"
            raise CliError(f"{method} has no parameter {name!r} (it takes: {names})")
        params[name] = _typed(param, raw)
    if known is not None:
        missing = [p.name for p in known.values() if p.required and p.name not in params]
        if missing:
            raise CliError(f"{method} needs {', '.join(missing)}")
    return params


def _typed(param: ParamFacts, raw: str) -> Any:
    shape = {"array": list, "object": dict}.get(param.type)
    try:
        if param.moment:
            value: Any = _moment(param.name, raw)
        elif param.type == "integer":
            value = int(raw)
        elif param.type == "number":
            value = float(raw)
        elif param.type == "boolean":
            lowered = raw.lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(raw)
            value = lowered in ("true", "1", "yes")
        elif shape is not None:
            value = msgspec.json.decode(raw)
        else:
            value = raw
    except (ValueError, msgspec.DecodeError):
        value = None  # also what a JSON null decodes to: refused alike
    if value is None or (shape is not None and type(value) is not shape):
        kind = f"a JSON {param.type}" if shape else param.type or "a value"
        raise CliError(f"{param.name} must be {kind}, not {raw!r}")
    values = value if param.type == "array" else [value]
    if param.enum and any(str(v) not in param.enum for v in values):
        raise CliError(f"{param.name} must be one of {', '.join(param.enum)}, not {raw!r}")
    if param.max_length:
        try:
            check_length(param.name, value, param.max_length)
        except ClientError as refused:
            raise CliError(str(refused)) from None
    return value


def _moment(name: str, raw: str) -> int:
    """A moment parameter: milliseconds since the epoch, or an ISO 8601 time with its zone
    (``2026-11-01T00:00Z``, ``2026-11-01T09:00+09:00``), sent as its milliseconds."""
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise CliError(
            f"{name} must be milliseconds since the epoch or an ISO time such as "
            f"2026-11-01T00:00Z, not {raw!r}"
        ) from None
    if moment.tzinfo is None:
        raise CliError(f"{name} needs its zone (2026-11-01T00:00Z, ...+01:00), not {raw!r}")
    try:
        return epoch_ms(name, moment)
    except ClientError as refused:
        raise CliError(str(refused)) from None


def _int_in(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: an int from ``low`` to ``high`` (the SDK's rule), refused with a
    message otherwise."""

    def parse(raw: str) -> int:
        try:
            return check_int("value", int(raw), low, high)
        except ValueError:  # not an int, or out of range (ClientError is a ValueError)
            raise argparse.ArgumentTypeError(
                f"must be an int {int_bounds(low, high)}, not {raw!r}"
            ) from None

    return parse


_count = _int_in(0)  # a negative count would stop after the first notification
_port = _int_in(0, 65535)  # bind() would fail with a traceback (OverflowError)


def _json_object(raw: str) -> dict[str, Any]:
    """An argparse type: a JSON object, refused with a message otherwise."""
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        value = None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object, not {raw!r}")
    return value


def _instrument(raw: str) -> str | dict[str, Any]:
    """An argparse type: an Exberry instrument's symbol, or its members as a JSON object."""
    return _json_object(raw) if raw.lstrip().startswith("{") else raw


def _settlement(raw: str) -> tuple[str, str, str]:
    """An argparse type: ``SYMBOL=BASE/QUOTE`` (assets by id or name)."""
    symbol, _, assets = raw.partition("=")
    base, _, quote = assets.partition("/")
    if not (symbol and base and quote):
        raise argparse.ArgumentTypeError(f"must be SYMBOL=BASE/QUOTE (BTC=GOLD/USD), not {raw!r}")
    return symbol, base, quote


def _json_or_str(raw: str) -> Any:
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return raw


def method_help(method: str) -> str:
    """``call METHOD --help``: what the catalogue knows of the method."""
    facts = METHODS.get(method)
    if facts is None:
        raise CliError(f"unknown method {method!r}; `deribit call --list` lists them")
    flags = [
        label
        for label, on in (
            ("private", facts.private),
            ("WebSocket only", facts.ws_only),
            ("order mutation: a lost reply leaves the outcome unknown", facts.order_mutation),
            ("funds movement", facts.funds_movement),
            (
                f"a lost reply leaves the outcome unknown: {facts.found_with} shows it",
                facts.found_with is not None,
            ),
        )
        if on
    ]
    lines = [method, f"  {facts.summary}" if facts.summary else "", *(f"  ({f})" for f in flags)]
    lines.append("parameters:" if facts.params else "parameters: none")
    for p in facts.params:
        kind = p.type + (f" one of {', '.join(p.enum)}" if p.enum else "")
        kind += " in ms, or an ISO time with its zone" if p.moment else ""
        kind += f" of at most {p.max_length} characters" if p.max_length else ""
        required = "required" if p.required else "optional"
        lines.append(f"  {p.name}  ({kind}, {required})")
        if p.description:
            lines.append(f"      {p.description}")
    return "\n".join(line for line in lines if line != "")


# -- commands -----------------------------------------------------------------------------


def _env(args: argparse.Namespace) -> Environment:
    return "testnet" if args.testnet else "prod"


def _client(args: argparse.Namespace) -> DeribitClient:
    return DeribitClient(
        url=args.url, env=_env(args), heartbeat_interval=None, subaccount_id=args.subaccount_id
    )


async def cmd_call(args: argparse.Namespace, out: TextIO) -> int:
    """``deribit call``: list, describe or call one method; prints the result as JSON."""
    if args.list:
        for name in METHODS:
            print(name, file=out)
        return 0
    if not args.method:
        raise CliError("call needs a METHOD (e.g. public/get_time); --list shows them")
    if args.help_method:
        print(method_help(args.method), file=out)
        return 0
    params = parse_params(args.method, args.params)
    result_type = Any if args.json else result_type_of(args.method)
    async with _client(args) as client:
        result = await client.call(args.method, params, result_type=result_type)
    text = _encode(result)
    print(text.decode() if args.json else msgspec.json.format(text, indent=2).decode(), file=out)
    return 0


async def cmd_tail(args: argparse.Namespace, out: TextIO) -> int:
    """``deribit tail``: print notifications of the given channels, one JSON line each."""
    shown = 0
    async with _client(args) as client, client.subscribe(*args.channels) as sub:
        async for item in sub:
            if isinstance(item, Gap):
                if args.json:  # a JSON line too: a consumer of JSON lines must not choke
                    gap = {"channel": item.channel, "gap": item.reason, "lost": item.lost}
                    line = _encode(gap).decode()
                else:
                    lost = f" ({item.lost} lost)" if item.lost else ""
                    line = f"# gap on {item.channel}: {item.reason}{lost}"
                print(line, file=out, flush=True)
                continue
            if args.json:
                print(_encode({"channel": item.channel, "data": item.data}).decode(), file=out)
            else:  # one line per notification: the channel, then the start of its data
                print(f"{item.channel}  {_encode(item.data).decode()[:120]}", file=out)
            out.flush()
            shown += 1
            if args.count and shown >= args.count:
                return 0
    return 0


class _RecordingConnector(WebSocketConnector):
    """Opens WebSockets whose received frames are also written to a file, as sent."""

    def __init__(self, url: str, sink: TextIO) -> None:
        super().__init__(url)
        self.sink = sink

    async def connect(self) -> WebSocketTransport:
        transport = await super().connect()
        payload = transport.payload
        sink = self.sink

        def recording(message: object) -> bytes | str:
            frame = payload(message)
            if b'"subscription"' in (frame if isinstance(frame, bytes) else frame.encode()):
                sink.write(frame.decode() if isinstance(frame, bytes) else frame)
                sink.write("\n")
            return frame

        # The connection binds payload when its read loop starts, after connect(): this
        # instance attribute is what it reads each frame through, once its fast path for
        # text frames (which skips payload) is off.
        transport.payload = recording  # type: ignore[method-assign]
        transport.data_message_type = None
        return transport


async def cmd_record(args: argparse.Namespace, out: TextIO) -> int:
    """``deribit record``: write the channels' notification frames to a file, as received."""
    seen = 0
    with Path(args.output).open("w") as sink:  # noqa: ASYNC230 - once, before any I/O
        ws_url = endpoints_for(_env(args), args.url).ws_url
        client = DeribitClient(connector=_RecordingConnector(ws_url, sink), heartbeat_interval=None)
        async with client, client.subscribe(*args.channels) as sub:
            async for item in sub:
                if not isinstance(item, Gap):
                    seen += 1
                    if args.count and seen >= args.count:
                        break
    print(f"recorded {seen} notifications to {args.output}", file=out)
    return 0


def cmd_decode(args: argparse.Namespace, out: TextIO) -> int:
    """``deribit decode``: decode a recording line by line; exit 1 if any line does not fit."""
    bad = 0
    # Line by line, as bytes: a recording of any size, and a corrupt line (not UTF-8, cut
    # short) is reported as not fitting instead of ending the run.
    with Path(args.file).open("rb") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                text = _decoded(line)
            except DeribitError as exc:
                bad += 1
                print(f"line {number}: does not fit: {exc}", file=out)
                continue
            print(f"line {number}: {text}", file=out)
    if bad:
        print(f"{bad} frame(s) did not fit", file=out)
    return 1 if bad else 0


def _decoded(frame: bytes) -> str:
    """One recorded frame, decoded: a notification (typed by its channel), or a reply
    (its method is not in the frame: the result as JSON, an error as its typed class);
    an Exberry frame (``q``/``sid``, no ``jsonrpc``) typed by its qualifier."""
    if b'"sid"' in frame and b'"jsonrpc"' not in frame:
        from .exberry import decode_frame

        decoded = decode_frame(frame)
        if decoded.error is not None:
            return f"{decoded.q} error: {type(decoded.error).__name__} {decoded.error}"
        if decoded.sig is not None:
            return f"{decoded.q} end of stream {decoded.sid} (sig {decoded.sig})"
        return f"{decoded.q}: {decoded.item!r}"[:300]
    if b'"id"' not in frame:
        return repr(decode_notification(frame))[:300]
    try:
        result = decode_response("?", frame, Any)
    except RpcError as exc:
        return f"reply: {type(exc).__name__} {exc}"
    return f"reply: {_encode(result).decode()[:280]}"


async def cmd_sim(args: argparse.Namespace, out: TextIO) -> int:
    """``deribit sim``: serve the bundled simulators until interrupted."""
    from .testing import (
        SIM_CLIENT_ID,
        SIM_CLIENT_SECRET,
        DeribitSimulator,
        ExberrySimulator,
        RateLimits,
    )
    from .testing.exberry import SIM_API_KEY, SIM_API_SECRET

    limits = RateLimits(
        enabled=not args.no_rate_limits,
        matching_engine_tier=args.tier,
        limits_per_currency=args.limits_per_currency,
    )
    # Built a part at a time, to name the option whose value it cannot run.
    terms: dict[str, Any] = {}
    instruments = ["BTC", "ETH", *(args.exberry_instrument or ())]
    for option, more in (
        ("--exberry-calendar", {"calendars": args.exberry_calendar or [{}]}),
        ("--exberry-instrument", {"instruments": instruments}),
        ("--exberry-strategy", {"strategies": args.exberry_strategy or ()}),
    ):
        terms |= more
        try:
            exberry = ExberrySimulator(args.host, args.exberry_port, **terms)
        except ValueError as refused:
            raise CliError(f"{option}: {refused}") from None
    exberry.tokens.update(args.exberry_token or ())
    _set_up_ledger(exberry.ledger, args, SIM_API_KEY)
    async with (
        DeribitSimulator(args.host, args.port, rate_limits=limits) as sim,
        exberry as exsim,
    ):
        sim.start_streams(0.1)
        print(f"Deribit simulator   {sim.ws_url}  (HTTP {sim.http_url})", file=out)
        print(f"  credentials       client_id={SIM_CLIENT_ID} client_secret={SIM_CLIENT_SECRET}",
              file=out)  # fmt: skip
        per = ", per currency" if args.limits_per_currency else ""
        credits = f"matching-engine tier {args.tier}{per}" if limits.enabled else "off"
        print(f"  request credits   {credits}", file=out)
        print(f"Exberry simulator   {exsim.url}", file=out)
        print(f"  credentials       apiKey={SIM_API_KEY} secret={SIM_API_SECRET}", file=out)
        if exsim.tokens:
            print(f"  trader tokens     {len(exsim.tokens)} (token= and broker_token= "
                  "sessions)", file=out)  # fmt: skip
        for calendar in exsim.calendars.values():
            members = calendar.members
            hours = f"{members['marketOpen']}-{members['marketClose']}"
            hours = "around the clock" if members["marketOpen"] is None else hours
            print(f"  calendar {members['id']:<8} {members['name']} {hours} "
                  f"{members['timeZone']}", file=out)  # fmt: skip
        for strategy in exsim.strategies.values():
            legs = ", ".join(f"{side.lower()}s {leg}" for leg, side in strategy.legs)
            implied = ", implied orders" if strategy.implied else ""
            print(f"  strategy          {strategy.symbol}: {strategy.type}, {legs}{implied}",
                  file=out)  # fmt: skip
        ledger = exsim.ledger
        for account in ledger.accounts.values():
            held = ", ".join(
                f"{ledger.assets[a].assetName} {amount}" for a, amount in account.available.items()
            )
            linked = [key for (_, key), number in ledger.trading_accounts.items()
                      if number == account.ledger_account_id]  # fmt: skip
            print(f"  ledger account    {account.ledger_account_id} (trading account "
                  f"{linked[0] if linked else '-'}): {held or 'empty'}", file=out)  # fmt: skip
        for symbol, settlement in ledger.settlements.items():
            print(f"  settles           {symbol} in {settlement.base.assetName} for "
                  f"{settlement.quote.assetName}", file=out)  # fmt: skip
        print("Ctrl-C stops", file=out)
        out.flush()
        await asyncio.Event().wait()
    return 0


def _set_up_ledger(ledger: LedgerDesk, args: argparse.Namespace, key: str) -> None:
    """Open ``--exberry-ledger-account``s for API key ``key`` (or the trader of their
    ``token``) and settle ``--exberry-settle`` instruments; what the ledger refuses is a
    :class:`CliError` naming the option."""
    from .testing.exberry import trader_key

    option = "--exberry-ledger-account"
    try:
        for members in args.exberry_ledger_account or ():
            allowed = {"ledgerAccountId", "accountId", "balances", "name", "token"}
            unknown = sorted(set(members) - allowed)
            if unknown:
                raise ValueError(f"unknown members {unknown}")
            if "ledgerAccountId" not in members:
                raise ValueError("ledgerAccountId is required")
            owner = key
            if "token" in members:  # the account of a token session's trader
                if members["token"] not in (args.exberry_token or ()):
                    raise ValueError("its token is not one of --exberry-token")
                owner = trader_key(members["token"])
            ledger.open_account(
                owner, members.get("ledgerAccountId"), account_id=members.get("accountId"),
                balances=members.get("balances"), name=members.get("name"),
            )  # fmt: skip
        option = "--exberry-settle"
        for symbol, base, quote in args.exberry_settle or ():
            ledger.settle_trades(symbol, base=base, quote=quote)
    except ValueError as refused:
        raise CliError(f"{option}: {refused}") from None


async def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    """``deribit demo``: run the demo session against a bundled simulator or a given venue."""
    if args.venue == "exberry":
        if args.testnet:
            raise CliError("--testnet is Deribit's; use --url for an Exberry gateway")
        return await exberry_demo(args)
    return await demo(args)


# -- wiring -------------------------------------------------------------------------------


def _acting_for(command: argparse.ArgumentParser) -> None:
    command.add_argument("--subaccount-id", type=int, metavar="USER_ID",
                         help="act for this subaccount of the key's account")  # fmt: skip


def _parser() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    shared = argparse.ArgumentParser(add_help=False)
    where = shared.add_mutually_exclusive_group()
    where.add_argument("--url", help="server URL (default: Deribit production)")
    where.add_argument("--testnet", action="store_true", help="use Deribit testnet")
    shared.add_argument("-v", "--verbose", action="store_true", help="tracebacks and debug logs")
    parser = argparse.ArgumentParser(prog="deribit", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    call = commands.add_parser(
        "call", parents=[shared], add_help=False, help="call a method (METHOD --help: its docs)"
    )
    call.add_argument("method", nargs="?", help="e.g. public/get_index_price")
    call.add_argument("params", nargs="*", help="name=value, parsed by the declared type")
    call.add_argument("--json", action="store_true", help="raw JSON result")
    call.add_argument("--list", action="store_true", help="list every method")
    call.add_argument("-h", "--help", dest="help_method", action="store_true",
                      help="the method's parameters (or this help without a method)")  # fmt: skip
    _acting_for(call)

    for name, text in (("tail", "print notifications until Ctrl-C or --count"),
                       ("record", "write the received notification frames to a file")):  # fmt: skip
        sub = commands.add_parser(name, parents=[shared], help=text)
        sub.add_argument("channels", nargs="+", help="e.g. ticker.BTC-PERPETUAL.100ms")
        sub.add_argument("--count", type=_count, default=0,
                         help="stop after N notifications (0: never)")  # fmt: skip
        if name == "tail":
            sub.add_argument("--json", action="store_true", help="JSON lines")
            _acting_for(sub)
        else:
            sub.add_argument("-o", "--output", required=True, help="file to write")

    decode_cmd = commands.add_parser("decode", help="decode a recorded file offline")
    decode_cmd.add_argument("file")
    decode_cmd.add_argument("-v", "--verbose", action="store_true")

    sim = commands.add_parser("sim", help="run the Deribit and Exberry simulators")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=_port, default=0, help="Deribit simulator port (0: any)")
    sim.add_argument("--exberry-port", type=_port, default=0, help="Exberry simulator port")
    sim.add_argument(
        "--tier",
        type=int,
        choices=(1, 2, 3, 4),
        default=4,
        help="matching-engine rate-limit tier (4: 5 orders/s, burst 20)",
    )
    sim.add_argument("--no-rate-limits", action="store_true",
                     help="serve every request (no 10028 too_many_requests)")  # fmt: skip
    sim.add_argument("--limits-per-currency", action="store_true",
                     help="a trading credit pool per settlement currency")  # fmt: skip
    sim.add_argument("--exberry-calendar", type=_json_object, action="append",
                     metavar="JSON", help="an Exberry trading calendar, calendarList's "
                     'members (\'{"marketOpen": "09:00", "marketClose": "17:00"}\'); '
                     "repeat for more (default: one, trading around the clock)")  # fmt: skip
    sim.add_argument("--exberry-instrument", type=_instrument, action="append",
                     metavar="SYMBOL|JSON", help="an Exberry instrument besides BTC and ETH: "
                     "a symbol, or instrumentList's members "
                     """('{"symbol": "BOND", "quantityPrecision": 2}'); repeatable""")  # fmt: skip
    sim.add_argument("--exberry-strategy", type=_json_object, action="append",
                     metavar="JSON", help="an Exberry strategy instrument, one of the "
                     """instruments ('{"symbol": "SPR", "type": "Spread", "legs": """
                     """[{"instrument": "BTC", "side": "Buy"}, {"instrument": "ETH", """
                     """"side": "Sell"}], "impliedOrders": true}'); repeatable""")  # fmt: skip
    sim.add_argument("--exberry-ledger-account", type=_json_object, action="append",
                     metavar="JSON", help="a ledger account of the simulator's API key "
                     '(\'{"ledgerAccountId": 36, "accountId": 37, "balances": {"USD": 1000}}\'), '
                     'or of a token\'s trader ("token": one of --exberry-token); '
                     "repeatable")  # fmt: skip
    sim.add_argument("--exberry-token", action="append", metavar="TOKEN",
                     help="a trader token (JWT) the Exberry simulator accepts, for token= "
                     "and broker_token= sessions; repeatable")  # fmt: skip
    sim.add_argument("--exberry-settle", type=_settlement, action="append",
                     metavar="SYMBOL=BASE/QUOTE", help="settle an Exberry instrument's trades "
                     "in the ledger (BTC=GOLD/USD); repeatable")  # fmt: skip
    sim.add_argument("-v", "--verbose", action="store_true")

    demo_cmd = commands.add_parser("demo", parents=[shared],
                                   help="run the demo (bundled simulator by default)")  # fmt: skip
    demo_cmd.add_argument("--venue", choices=("deribit", "exberry"), default="deribit")
    return parser, call


_COMMANDS = {
    "call": cmd_call, "tail": cmd_tail, "record": cmd_record, "sim": cmd_sim, "demo": cmd_demo,
}  # fmt: skip


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser, call_parser = _parser()
    args = parser.parse_args(argv)
    stream = out or sys.stdout
    if args.command == "call" and args.help_method and not args.method:
        print(call_parser.format_help(), file=stream)
        return 0
    verbose = getattr(args, "verbose", False)
    logging.basicConfig(level=logging.DEBUG if verbose else logging.ERROR)
    try:
        if args.command == "decode":  # offline: no event loop needed
            return cmd_decode(args, stream)
        return asyncio.run(_COMMANDS[args.command](args, stream))
    except KeyboardInterrupt:
        return 130
    except (CliError, DeribitError, OSError, ValueError) as exc:
        if verbose:
            raise
        print(f"deribit: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, CliError) else 1

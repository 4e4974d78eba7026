"""The command line against the simulator: exit codes, output, bad input."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import pathlib
import re
import shlex
import signal
import sys

import pytest

from deribit_client import DeribitClient
from deribit_client.cli import CliError, _parser, cmd_sim, main, method_help, parse_params
from deribit_client.exberry import ExberryClient
from deribit_client.exberry.models import BrokerBalance
from deribit_client.testing import SIM_CLIENT_ID, SIM_CLIENT_SECRET, DeribitSimulator
from tests.helpers import tick, until


async def run(*argv: str) -> tuple[int, str]:
    """The CLI in a worker thread (it runs its own event loop), the simulator in ours."""
    out = io.StringIO()
    code = await asyncio.to_thread(main, list(argv), out)
    return code, out.getvalue()


async def test_call_prints_the_typed_result(sim: DeribitSimulator) -> None:
    code, out = await run("call", "public/get_index_price", "index_name=btc_usd", "--url", sim.url)
    assert code == 0
    assert json.loads(out)["index_price"] > 0
    code, out = await run(
        "call", "public/get_instruments", "currency=BTC", "kind=future", "--json", "--url", sim.url
    )
    assert code == 0
    assert {i["kind"] for i in json.loads(out)} == {"future"}


async def test_private_call_with_credentials_from_the_environment(
    sim: DeribitSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DERIBIT_CLIENT_ID", SIM_CLIENT_ID)
    monkeypatch.setenv("DERIBIT_CLIENT_SECRET", SIM_CLIENT_SECRET)
    code, out = await run(
        "call", "private/get_open_orders_by_label", "currency=BTC", "label=12345", "--url", sim.url
    )
    assert code == 0
    assert json.loads(out) == []
    assert ("private/get_open_orders_by_label", {"currency": "BTC", "label": "12345"}) in sim.calls


async def test_a_private_call_acting_for_a_subaccount(
    sim: DeribitSimulator, trader: DeribitClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = await trader.private.create_subaccount()
    monkeypatch.setenv("DERIBIT_CLIENT_ID", SIM_CLIENT_ID)
    monkeypatch.setenv("DERIBIT_CLIENT_SECRET", SIM_CLIENT_SECRET)
    argv = ("call", "private/get_account_summary", "currency=BTC", "extended=true", "--json")
    code, out = await run(*argv, "--subaccount-id", str(sub.id), "--url", sim.url)
    assert code == 0
    assert (json.loads(out)["id"], json.loads(out)["type"]) == (sub.id, "subaccount")


def test_values_are_parsed_by_the_declared_type() -> None:
    params = parse_params(
        "private/buy",
        ["instrument_name=BTC-PERPETUAL", "amount=10", "label=12345", "post_only=true",
         'otoco_config=[{"amount":1}]', "type=limit"],
    )  # fmt: skip
    assert params == {
        "instrument_name": "BTC-PERPETUAL", "amount": 10.0, "label": "12345",
        "post_only": True, "otoco_config": [{"amount": 1}], "type": "limit",
    }  # fmt: skip
    with pytest.raises(CliError, match="amount must be number"):
        parse_params("private/buy", ["instrument_name=X", "amount=ten"])
    with pytest.raises(CliError, match="type must be one of"):
        parse_params("private/buy", ["instrument_name=X", "type=huge"])
    with pytest.raises(CliError, match="no parameter 'colour'"):
        parse_params("public/get_time", ["colour=red"])
    with pytest.raises(CliError, match="needs instrument_name"):
        parse_params("private/buy", ["amount=1"])
    with pytest.raises(CliError, match="name=value"):
        parse_params("public/get_time", ["oops"])
    # The length limits the descriptions state (a label: 64 characters).
    label = ["instrument_name=X", "amount=1"]
    assert parse_params("private/buy", [*label, "label=" + "x" * 64])["label"] == "x" * 64
    with pytest.raises(CliError, match="label is 65 characters; the venue allows at most 64"):
        parse_params("private/buy", [*label, "label=" + "x" * 65])


def test_structured_values_are_checked_against_their_shape() -> None:
    # Arrays check each item against the enum; "object data" params take a JSON object.
    products = parse_params("private/set_disabled_trading_products",
                            ["user_id=1", 'trading_products=["options","spots"]'])  # fmt: skip
    assert products["trading_products"] == ["options", "spots"]
    with pytest.raises(CliError, match="trading_products must be one of"):
        parse_params("private/set_disabled_trading_products",
                     ["user_id=1", 'trading_products=["options","bonds"]'])  # fmt: skip
    with pytest.raises(CliError, match="trading_products must be a JSON array"):
        parse_params("private/set_disabled_trading_products",
                     ["user_id=1", "trading_products=options"])  # fmt: skip
    with pytest.raises(CliError, match="simulated_positions must be a JSON object"):
        parse_params("private/simulate_portfolio",
                     ["currency=BTC", 'simulated_positions=[{"BTC-PERPETUAL":1}]'])  # fmt: skip


def test_moments_take_milliseconds_or_an_iso_time_with_its_zone() -> None:
    chart = ["instrument_name=BTC-PERPETUAL", "resolution=60"]
    params = parse_params("public/get_tradingview_chart_data",
                          [*chart, "start_timestamp=2026-11-01T00:00Z",
                           "end_timestamp=2026-11-02T09:00:00.5+09:00"])  # fmt: skip
    assert (params["start_timestamp"], params["end_timestamp"]) == (1793491200000, 1793577600500)
    by_ms = parse_params("public/get_announcements", ["start_timestamp=1793491200000"])
    assert by_ms["start_timestamp"] == 1793491200000
    for raw, text in (
        ("2026-11-01T00:00", "start_timestamp needs its zone"),
        ("yesterday", "milliseconds since the epoch or an ISO time"),
        ("1969-12-31T23:59Z", "before the Unix epoch"),
    ):
        with pytest.raises(CliError, match=text):
            parse_params("public/get_tradingview_chart_data",
                         [*chart, f"start_timestamp={raw}", "end_timestamp=0"])  # fmt: skip
    assert "(integer in ms, or an ISO time with its zone, required)" in method_help(
        "public/get_tradingview_chart_data"
    )


def test_method_help_carries_deribits_descriptions() -> None:
    text = method_help("private/buy")
    assert "label  (string of at most 64 characters, optional)" in text
    assert "instrument_name  (string, required)" in text
    assert "order mutation" in text
    assert "Instrument name" in text
    assert "funds movement" in method_help("private/withdraw")
    assert "unknown: private/list_api_keys shows it" in method_help("private/create_api_key")
    assert "outcome unknown" not in method_help("private/get_withdrawals")
    with pytest.raises(CliError, match="unknown method"):
        method_help("public/nope")


async def test_bad_input_is_one_line_and_a_non_zero_exit(
    sim: DeribitSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = await run("call", "public/get_time", "colour=red", "--url", sim.url)
    assert code == 2
    code, _ = await run("call", "public/get_instrument", "instrument_name=NOPE", "--url", sim.url)
    assert code == 1
    code, _ = await run("call", "public/get_time", "--url", "http://127.0.0.1:1")
    assert code == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(errors) == 3
    assert all(line.startswith("deribit: ") for line in errors)
    assert "colour" in errors[0]
    assert "10020" in errors[1] or "not" in errors[1]
    assert "Traceback" not in "".join(errors)


def test_a_negative_count_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    # --count -1 once stopped after the first notification; 0 means "never stop".
    for extra in ([], ["-o", "x.jsonl"]):  # tail, record
        command = "record" if extra else "tail"
        with pytest.raises(SystemExit) as exited:
            main([command, "ticker.BTC-PERPETUAL.100ms", "--count", "-1", *extra])
        assert exited.value.code == 2
        assert "--count: must be an int >= 0, not '-1'" in capsys.readouterr().err


async def test_call_help_and_list() -> None:
    code, out = await run("call", "private/buy", "--help")
    assert code == 0
    assert "time_in_force" in out
    code, out = await run("call", "--list")
    assert code == 0
    assert len(out.split()) == 174


async def test_tail_prints_json_lines(sim: DeribitSimulator) -> None:
    sim.start_streams(0.01)
    code, out = await run(
        "tail", "ticker.BTC-PERPETUAL.100ms", "--count", "2", "--json", "--url", sim.url
    )
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["channel"] for line in lines] == ["ticker.BTC-PERPETUAL.100ms"] * 2
    assert lines[0]["data"]["instrument_name"] == "BTC-PERPETUAL"
    code, out = await run("tail", "ticker.BTC-PERPETUAL.100ms", "--count", "1", "--url", sim.url)
    assert code == 0
    assert out.startswith('ticker.BTC-PERPETUAL.100ms  {"')


async def test_tail_shows_a_break_in_the_stream_as_a_json_line_of_its_own(
    sim: DeribitSimulator,
) -> None:
    # Reported from outside: with --json a reconnect printed "# gap on ...", which JSON-lines
    # consumers (jq, a log shipper) choke on.
    sim.aggregation_periods.clear()
    tailing = asyncio.ensure_future(
        run("tail", "ticker.BTC-PERPETUAL.100ms", "--count", "2", "--json", "--url", sim.url)
    )
    try:
        await until(lambda: len(sim.subscriptions) == 1)  # subscribe calls so far
        await sim.publish("ticker.BTC-PERPETUAL.100ms", tick(1))
        sim.drop_connections()
        await until(lambda: len(sim.subscriptions) == 2)  # resubscribed after the reconnect
        await sim.publish("ticker.BTC-PERPETUAL.100ms", tick(2))
        code, out = await asyncio.wait_for(asyncio.shield(tailing), 10)
    finally:
        if not tailing.done():  # a failed step must not leave the CLI's thread waiting
            sim.start_streams(0.01)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(tailing, 10)
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]  # every line parses
    assert [line.get("gap") or line["data"]["timestamp"] for line in lines] == [
        1,
        "reconnected",
        2,
    ]
    assert lines[1] == {"channel": "ticker.BTC-PERPETUAL.100ms", "gap": "reconnected", "lost": 0}


async def test_record_then_decode_offline(sim: DeribitSimulator, tmp_path: pathlib.Path) -> None:
    sim.start_streams(0.01)
    target = tmp_path / "book.jsonl"
    code, out = await run(
        "record", "book.BTC-PERPETUAL.100ms", "-o", str(target), "--count", "3", "--url", sim.url
    )
    assert code == 0
    assert "recorded 3" in out
    code, out = await run("decode", str(target))
    assert code == 0
    assert "BookChange" in out
    with target.open("a") as file:
        file.write('{"jsonrpc":"2.0","method":"subscription","params":{"channel":"ticker.X.100ms"'
                   ',"data":{"instrument_name":5}}}\n')  # fmt: skip
        file.write('{"jsonrpc":"2.0","id":7,"result":{"index_price":1.5}}\n')
        file.write('{"jsonrpc":"2.0","id":8,"error":{"code":10009,"message":"not_enough_funds"}}\n')
    with target.open("ab") as raw:
        raw.write(b'\xff\xfe{"jsonrpc"\n')  # a corrupt line: not UTF-8, cut short
        raw.write(b'{"jsonrpc":"2.0","id":9,"result":"after"}\n')
    code, out = await run("decode", str(target))
    assert code == 1
    assert "does not fit" in out
    assert 'reply: {"index_price":1.5}' in out
    assert "reply: InsufficientFundsError" in out
    assert "line 7: does not fit" in out
    assert 'line 8: reply: "after"' in out  # the corrupt line did not end the run


async def test_decode_types_recorded_exberry_frames_too(tmp_path: pathlib.Path) -> None:
    target = tmp_path / "exberry.jsonl"
    target.write_text(
        '{"q":"v1/broker.account/orders","sid":44,"d":{"messageType":"Added","orderId":385}}\n'
        '{"sig":2,"q":"v1/exchange.market/placeOrder","errorType":"500","sid":5,'
        '"d":{"errorCode":1002,"errorMessage":"mpOrderId already in use"}}\n'
        '{"sig":1,"q":"v1/exchange.market/placeOrder","sid":5}\n'
        '{"q":"v1/exchange.market/placeOrder","sid":6,"d":{"orderId":"x"}}\n'
    )
    code, out = await run("decode", str(target))
    assert code == 1  # the last does not fit its qualifier's model
    assert "line 1: v1/broker.account/orders: BrokerOrder(messageType='Added'" in out
    assert "line 2: v1/exchange.market/placeOrder error: OrderValidationError [1002]" in out
    assert "line 3: v1/exchange.market/placeOrder end of stream 5 (sig 1)" in out
    assert "line 4: does not fit: not a decodable Exberry frame" in out


async def test_ctrl_c_ends_tail_and_record_quietly_keeping_what_was_recorded(
    sim: DeribitSimulator, tmp_path: pathlib.Path
) -> None:
    # "until Ctrl-C": exit status 130, no traceback, and every frame recorded so far whole.
    sim.start_streams(0.01)
    target = tmp_path / "ticks.jsonl"
    for argv in (("tail",), ("record", "-o", str(target))):
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "deribit_client", *argv, "ticker.BTC-PERPETUAL.100ms",
            "--url", sim.url, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert process.stdout is not None
        if argv[0] == "tail":
            assert await asyncio.wait_for(process.stdout.readline(), 20)
        else:
            await until(lambda: target.exists() and target.read_text().count("\n") >= 2, 20)
        process.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(process.communicate(), 20)
        assert (process.returncode, err) == (130, b""), argv
    code, out = await run("decode", str(target))
    assert code == 0  # no line cut short
    assert out.count("ticker.BTC-PERPETUAL.100ms") == len(target.read_text().splitlines())


async def sim_banner(*options: str, lines: int) -> list[str]:
    """The first ``lines`` the standalone ``sim`` command prints, run with ``options``."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "deribit_client", "sim", *options, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    try:
        return [
            (await asyncio.wait_for(process.stdout.readline(), 20)).decode() for _ in range(lines)
        ]
    finally:
        process.terminate()
        await process.wait()


async def test_sim_runs_standalone_and_prints_urls_and_credentials() -> None:
    lines = await sim_banner("--tier", "1", "--limits-per-currency", lines=5)
    assert lines[0].startswith("Deribit simulator   ws://127.0.0.1:")
    assert SIM_CLIENT_ID in lines[1]
    assert "tier 1, per currency" in lines[2]
    assert lines[3].startswith("Exberry simulator   ws://127.0.0.1:")


@pytest.mark.parametrize("option", ["--port", "--exberry-port"])
def test_a_port_out_of_range_is_refused_without_a_traceback(
    option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for port in ("-1", "70000"):
        with pytest.raises(SystemExit) as exited:
            main(["sim", option, port])
        assert exited.value.code == 2
        error = capsys.readouterr().err
        assert f"{option}: must be an int from 0 to 65535, not '{port}'" in error


async def test_sim_runs_the_exberry_calendars_it_is_given() -> None:
    # The simulators' command could not set Exberry's trading hours.
    calendar = '{"id": 2, "name": "Bonds", "marketOpen": "09:00", "marketClose": "17:00"}'
    lines = await sim_banner("--exberry-calendar", calendar, lines=6)
    assert lines[5].split() == ["calendar", "2", "Bonds", "09:00-17:00", "+00:00"]


async def test_sim_opens_the_exberry_ledger_accounts_and_settlements_it_is_given() -> None:
    # The standalone simulator had no ledger accounts: a bot could not be tested for
    # balances or for orders the ledger refuses.
    account = '{"ledgerAccountId": 36, "accountId": 37, "balances": {"USD": 1000, "10": 5}}'
    lines = await sim_banner(
        "--exberry-ledger-account", account, "--exberry-settle", "BTC=GOLD/USD", lines=8
    )
    assert lines[6].split() == [
        "ledger", "account", "36", "(trading", "account", "37):", "USD", "1000,", "GOLD", "5"
    ]  # fmt: skip
    assert lines[7].split() == ["settles", "BTC", "in", "GOLD", "for", "USD"]


async def test_sim_trades_the_exberry_strategies_it_is_given() -> None:
    # The standalone simulator had only BTC and ETH, and no strategy instruments.
    spread = (
        '{"symbol": "SPR", "type": "Spread", "impliedOrders": true, "legs": '
        '[{"instrument": "BTC", "side": "Buy"}, {"instrument": "ETH", "side": "Sell"}]}'
    )
    lines = await sim_banner("--exberry-instrument", "SPR", "--exberry-strategy", spread, lines=7)
    assert lines[6].split() == [
        "strategy", "SPR:", "Spread,", "buys", "BTC,", "sells", "ETH,", "implied", "orders"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [
        ("--exberry-settle", "BTC", "must be SYMBOL=BASE/QUOTE (BTC=GOLD/USD), not 'BTC'"),
        ("--exberry-settle", "XRP=GOLD/USD", "--exberry-settle: unknown instrument 'XRP'"),
        ("--exberry-settle", "BTC=GOLD/XAU", "--exberry-settle: unknown asset 'XAU'"),
        ("--exberry-ledger-account", '{"accountId": 1}', "ledgerAccountId is required"),
        ("--exberry-strategy", '{"symbol": "BTC", "type": "Spread", "legs": []}',
         "--exberry-strategy: BTC: a strategy needs two or more different legs"),
        ("--exberry-instrument", '{"symbol": ""}', "an instrument needs a symbol"),
        ("--exberry-ledger-account", '{"ledgerAccountId": 1, "balance": {}}',
         "--exberry-ledger-account: unknown members ['balance']"),
        ("--exberry-ledger-account", '{"ledgerAccountId": 1, "balances": {"USD": "x"}}',
         "balance of USD must be a number >= 0, not 'x'"),
        ("--exberry-ledger-account", '{"ledgerAccountId": 1, "token": "nobody"}',
         "--exberry-ledger-account: its token is not one of --exberry-token"),
    ],
)  # fmt: skip
def test_a_ledger_the_simulator_cannot_set_up_is_refused_by_name(
    option: str, value: str, error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code: object
    try:
        code = main(["sim", option, value])
    except SystemExit as exited:  # argparse's own refusal
        code = exited.code
    assert code == 2
    assert error in capsys.readouterr().err


@pytest.mark.parametrize(
    ("calendar", "error"),
    [
        ("[1]", "--exberry-calendar: must be a JSON object, not '[1]'"),
        ('{"marketOpen": "9"}', "--exberry-calendar: marketOpen must be 'HH:MM', not '9'"),
    ],
)
def test_a_calendar_the_simulator_cannot_run_is_refused_by_name(
    calendar: str, error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code: object
    try:
        code = main(["sim", "--exberry-calendar", calendar])
    except SystemExit as exited:  # argparse's own refusal
        code = exited.code
    assert code == 2
    assert error in capsys.readouterr().err


def readme_command_lines() -> list[list[str]]:
    """The ``deribit ...`` lines of the README's command-line block, as argument lists
    (continuations joined, comments dropped)."""
    readme = (pathlib.Path(__file__).resolve().parents[2] / "README.md").read_text()
    text = "\n".join(re.findall(r"```bash\n(.*?)```", readme, re.S)).replace("\\\n", " ")
    lines = [line.split("  #")[0] for line in text.splitlines()]
    return [shlex.split(line)[1:] for line in lines if line.startswith("deribit ")]


async def test_every_command_line_of_the_readme_works(
    sim: DeribitSimulator,
    trader: DeribitClient,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: pathlib.Path,
) -> None:
    # As written, but against the simulator: its URL added to the commands that connect,
    # the README's placeholder subaccount replaced by a real one, any free port for `sim`.
    monkeypatch.setenv("DERIBIT_CLIENT_ID", SIM_CLIENT_ID)
    monkeypatch.setenv("DERIBIT_CLIENT_SECRET", SIM_CLIENT_SECRET)
    monkeypatch.chdir(tmp_path)  # `record` writes, `decode` reads, a file here
    sub = await trader.private.create_subaccount()
    sim.aggregation_periods.clear()  # 100 book notifications without waiting 10 s for them
    sim.start_streams(0.01)
    commands = readme_command_lines()
    assert {argv[0] for argv in commands} == {"call", "tail", "record", "decode", "sim", "demo"}
    for argv in commands:
        argv = [str(sub.id) if arg == "12345" and "--subaccount-id" in argv else arg
                for arg in argv]  # fmt: skip
        if argv[0] == "sim":
            await serve_until_ready([*argv, "--port", "0"])  # the last --port wins
            continue
        if argv[0] in ("call", "tail", "record"):
            argv = [*argv, "--url", sim.url]
        code, out = await run(*argv)
        assert code == 0, argv
        assert out or argv[0] in ("record", "demo"), argv  # those two print elsewhere
    assert len((tmp_path / "book.jsonl").read_text().splitlines()) == 100


async def serve_until_ready(argv: list[str]) -> None:
    """Run the ``sim`` command in this loop until its banner is out, then stop it."""
    out = io.StringIO()
    running = asyncio.ensure_future(cmd_sim(_parser()[0].parse_args(argv), out))
    await until(lambda: running.done() or "Ctrl-C stops" in out.getvalue(), limit=20)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):  # it was serving, not failed
        await running


async def test_sim_takes_trader_tokens_and_their_ledger_accounts() -> None:
    # The standalone Exberry simulator accepted no token: a broker (or token-session) bot
    # could not be tested against it.
    account = '{"ledgerAccountId": 50, "token": "bot-jwt", "balances": {"USD": 5}}'
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "deribit_client", "sim", "--port", "0", "--exberry-port", "0",
        "--exberry-token", "bot-jwt", "--exberry-ledger-account", account,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        banner = [
            (await asyncio.wait_for(process.stdout.readline(), 20)).decode() for _ in range(8)
        ]
        url = banner[3].split()[2]
        assert banner[5].split()[:3] == ["trader", "tokens", "1"]  # the token is not shown
        broker = ExberryClient(url, broker_token="bot-jwt", reconnect=False)
        async with broker, broker.broker_balance() as balances:
            first = await asyncio.wait_for(anext(balances), 5)
        assert isinstance(first, BrokerBalance)
        assert (first.asset, first.free) == ("USD", 5)
    finally:
        process.terminate()
        await process.wait()

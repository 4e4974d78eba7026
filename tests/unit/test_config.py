"""Endpoint resolution."""

from __future__ import annotations

import pytest

from deribit_client import PROD, TESTNET, ClientError, DeribitClient, Endpoints
from deribit_client._config import endpoints_for


@pytest.mark.parametrize(
    ("url", "ws", "http"),
    [
        ("http://127.0.0.1:8080", "ws://127.0.0.1:8080/ws/api/v2", "http://127.0.0.1:8080/api/v2"),
        ("wss://test.deribit.com/ws/api/v2", TESTNET.ws_url, TESTNET.http_url),
        ("https://www.deribit.com/api/v2/", PROD.ws_url, PROD.http_url),
        ("ws://h:1/prefix", "ws://h:1/prefix/ws/api/v2", "http://h:1/prefix/api/v2"),
    ],
)
def test_one_url_gives_both_endpoints(url: str, ws: str, http: str) -> None:
    assert Endpoints.from_url(url) == Endpoints(ws, http)


def test_environments() -> None:
    assert endpoints_for("prod", None) == PROD
    assert endpoints_for("testnet", None).ws_url == "wss://test.deribit.com/ws/api/v2"


@pytest.mark.parametrize("url", ["ftp://x", "127.0.0.1:80", "http://"])
def test_bad_url_is_named(url: str) -> None:
    with pytest.raises(ClientError, match="unsupported Deribit URL"):
        Endpoints.from_url(url)


@pytest.mark.parametrize("url", [5, b"wss://test.deribit.com", ["wss://x"]])
def test_a_url_that_is_not_a_str_is_a_client_error(url: object) -> None:
    with pytest.raises(ClientError, match="url must be a str"):
        DeribitClient(url=url)  # type: ignore[arg-type]


def test_bad_client_arguments() -> None:
    with pytest.raises(ValueError, match="transport"):
        DeribitClient(transport="carrier-pigeon")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        DeribitClient(timeout=0)

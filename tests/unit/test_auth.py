"""Signatures (known answers), redaction and token-refresh decisions, with an injected clock."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from deribit_client import (
    ClientError,
    Credentials,
    CredentialsRequired,
    http_signature,
    ws_signature,
)
from deribit_client._auth import Authenticator, HttpAuth
from deribit_client.models import AuthResult

SECRET = "AMANDASECRECT"


def test_ws_signature_matches_the_documented_vector() -> None:
    # REFERENCE.md 2.1: no trailing newline after the (empty) data.
    assert ws_signature(SECRET, 1576074319000, "1iqt2wls", "") == (
        "56590594f97921b09b18f166befe0d1319b198bbcdad7ca73382de2f88fe9aa1"
    )


@pytest.mark.parametrize(
    ("method", "uri", "body", "expected"),
    [
        # Expected values computed with `openssl dgst -sha256 -hmac`, not with this code.
        (
            "get",
            "/api/v2/private/get_account_summary?currency=BTC",
            "",
            "9bfbc51a2bc372d72cc396cf1a213dc78d42eb74cb7dc272351833ad0de276ab",
        ),
        (
            "POST",
            "/api/v2/private/buy",
            '{"jsonrpc":"2.0","id":1,"method":"private/buy","params":'
            '{"instrument_name":"BTC-PERPETUAL","amount":10}}',
            "43ebdabfb8e42513ff1e7a5f90f476e3eda8ba2f2893e46cf4d6d33b2fc5ecd9",
        ),
    ],
)
def test_http_signature_known_answers(method: str, uri: str, body: str, expected: str) -> None:
    assert http_signature(SECRET, 1576074319000, "1iqt2wls", method, uri, body) == expected


def test_credentials_never_show_the_secret() -> None:
    creds = Credentials("my-id", "TOPSECRET")
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert "TOPSECRET" not in text
        assert "my-id" in text
    with pytest.raises(TypeError):
        pickle.dumps(creds)
    assert "TOPSECRET" not in repr(Authenticator(creds))


def test_basic_header() -> None:
    assert Credentials("id", "secret").basic_header() == "Basic aWQ6c2VjcmV0"


def test_auth_result_repr_hides_tokens() -> None:
    result = AuthResult(
        access_token="AT-123", refresh_token="RT-456", expires_in=900, scope="connection trade:read"
    )
    assert "AT-123" not in repr(result)
    assert "RT-456" not in str(result)
    assert result.scopes == {"connection", "trade:read"}


def test_credentials_from_environment() -> None:
    assert Credentials.from_env({}) is None
    creds = Credentials.from_env({"DERIBIT_CLIENT_ID": "a", "DERIBIT_CLIENT_SECRET": "b"})
    assert creds is not None
    assert creds.client_id == "a"
    with pytest.raises(ClientError):
        Credentials("", "x")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def make(grant: Any = "client_signature", scope: str | None = None) -> tuple[Authenticator, Clock]:
    clock = Clock()
    nonces = iter(f"n{i}" for i in range(100))
    auth = Authenticator(
        Credentials("id", SECRET),
        grant=grant,
        scope=scope,
        clock=lambda: 1576074319.0,
        monotonic=clock,
        nonce=lambda: next(nonces),
    )
    return auth, clock


def test_signature_grant_params_use_fresh_nonces_and_sign() -> None:
    auth, _ = make(scope="session:bot trade:read_write")
    first, second = auth.login_params(), auth.login_params()
    assert first["grant_type"] == "client_signature"
    assert first["timestamp"] == 1576074319000
    assert first["nonce"] != second["nonce"]
    assert first["signature"] == ws_signature(SECRET, 1576074319000, first["nonce"], "")
    assert first["scope"] == "session:bot trade:read_write"
    assert "client_secret" not in first


def test_credentials_grant_sends_the_secret() -> None:
    auth, _ = make(grant="client_credentials")
    assert auth.login_params() == {
        "grant_type": "client_credentials",
        "client_id": "id",
        "client_secret": SECRET,
    }


def test_refresh_is_due_at_eighty_percent_of_the_lifetime() -> None:
    auth, clock = make()
    assert auth.seconds_until_refresh() is None
    assert auth.refresh_params() is None
    auth.accept(AuthResult(access_token="a", refresh_token="r", expires_in=100, scope="connection"))
    assert auth.seconds_until_refresh() == pytest.approx(80)
    clock.now += 79
    assert auth.seconds_until_refresh() == pytest.approx(1)
    clock.now += 5
    assert auth.seconds_until_refresh() == 0
    assert auth.refresh_params() == {"grant_type": "refresh_token", "refresh_token": "r"}
    assert not auth.session_scoped
    auth.accept(AuthResult(access_token="b", expires_in=100, scope="session:bot mainaccount"))
    assert auth.session_scoped


def test_http_authorization_modes() -> None:
    auth, _ = make()
    signed = auth.http_authorization("bearer", "/api/v2/private/buy", b"{}")
    assert signed.startswith("deri-hmac-sha256 id=id,ts=1576074319000,sig=")  # no token yet
    auth.accept(AuthResult(access_token="tok", expires_in=10))
    assert auth.http_authorization("bearer", "/x", b"") == "Bearer tok"
    assert auth.http_authorization("basic", "/x", b"").startswith("Basic ")
    sig = auth.http_authorization("signature", "/api/v2/private/buy", b"{}")
    nonce = sig.rsplit("nonce=", 1)[1]
    expected = http_signature(SECRET, 1576074319000, nonce, "POST", "/api/v2/private/buy", "{}")
    assert f"sig={expected}" in sig


def test_a_subaccounts_http_calls_never_sign_as_the_keys_account() -> None:
    auth = Authenticator(Credentials("id", SECRET), subject_id=7)
    modes: tuple[HttpAuth, ...] = ("bearer", "basic", "signature")
    for mode in modes:
        with pytest.raises(CredentialsRequired, match="subaccount 7"):  # no token yet
            auth.http_authorization(mode, "/api/v2/private/buy", b"{}")
    auth.accept(AuthResult(access_token="sub-token", expires_in=10))
    assert auth.http_authorization("bearer", "/x", b"") == "Bearer sub-token"


async def test_a_subaccount_login_exchanges_the_keys_token() -> None:
    auth = Authenticator(Credentials("id", SECRET), scope="session:desk", subject_id=7)
    sent: list[tuple[str, dict[str, Any]]] = []

    async def call(method: str, params: dict[str, Any], result_type: Any) -> Any:
        sent.append((method, params))
        token = "key" if method == "public/auth" else "sub"
        return AuthResult(access_token=token, refresh_token=f"{token}-r", expires_in=100)

    await auth.login(call)
    assert [m for m, _ in sent] == ["public/auth", "public/exchange_token"]
    assert sent[1][1] == {"refresh_token": "key-r", "subject_id": 7, "scope": "session:desk"}
    assert auth.access_token == "sub"
    assert auth.refresh_params() == {"grant_type": "refresh_token", "refresh_token": "sub-r"}


async def test_refused_refresh_falls_back_to_a_full_login() -> None:
    from deribit_client import ServiceUnavailableError, error_from_code

    auth, _ = make()
    auth.accept(AuthResult(access_token="old", refresh_token="r1", expires_in=100))
    grants: list[str] = []

    async def call(method: str, params: dict[str, Any], result_type: Any) -> Any:
        grants.append(params["grant_type"])
        if params["grant_type"] == "refresh_token":
            raise error_from_code(13009, "unauthorized")
        return AuthResult(access_token="new", refresh_token="r2", expires_in=100)

    result = await auth.refresh(call)
    assert grants == ["refresh_token", "client_signature"]
    assert (result.access_token, auth.access_token, auth.logins, auth.refreshes) == (
        "new",
        "new",
        1,
        0,
    )

    async def broken(method: str, params: dict[str, Any], result_type: Any) -> Any:
        raise error_from_code(11094, "internal_server_error")

    with pytest.raises(ServiceUnavailableError):  # not an auth refusal: no login attempt
        await auth.refresh(broken)
    assert auth.access_token == "new"

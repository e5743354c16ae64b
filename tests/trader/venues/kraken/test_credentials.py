"""Credentials come only from the Secret's files and never appear in logs or metrics."""

from __future__ import annotations

import base64
import io
import logging
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from krakenops.core.jsonlog import setup_logging
from krakenops.core.verify import Outcome, verify_startup
from krakenops.trader.execution.orders import OrderIntent, OrderType, Side
from krakenops.trader.venues.kraken.credentials import Credentials, load_credentials
from krakenops.trader.venues.kraken.errors import CredentialsError
from krakenops.trader.venues.kraken.factory import live_connectivity
from krakenops.trader.venues.kraken.settings import KRAKEN_URL_ENV
from tests.fakekraken import FakeKraken, Fault, FaultSchedule
from tests.trader.venues.kraken.conftest import ClientFactory, write_secret


def test_credentials_are_read_from_the_mounted_secret(
    tmp_path: Path, credentials: Credentials, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(
        "KRAKENOPS_CREDENTIALS_DIR", str(write_secret(tmp_path / "secret", credentials))
    )
    assert load_credentials() == credentials


def test_a_missing_or_malformed_secret_names_the_file_never_the_value(tmp_path: Path):
    (tmp_path / "api-key").write_text("a-key-value")
    with pytest.raises(CredentialsError, match="api-secret is missing"):
        load_credentials(tmp_path)
    (tmp_path / "api-secret").write_text("not*base64*at*all")
    with pytest.raises(CredentialsError, match="not base64") as caught:
        load_credentials(tmp_path)
    assert "not*base64" not in str(caught.value) and "a-key-value" not in str(caught.value)


def test_repr_and_str_show_neither_key_nor_secret(credentials: Credentials):
    for text in (repr(credentials), str(credentials), f"{credentials}"):
        assert credentials.api_key not in text and credentials.api_secret not in text


def test_the_api_key_and_secret_never_appear_in_logs_or_metrics(
    connect: ClientFactory, fake: FakeKraken, credentials: Credentials
):
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    setup_logging(
        "trader", "DEBUG", stream
    )  # every library's debug lines, ccxt's and urllib3's too
    try:
        registry = CollectorRegistry()
        client = connect(registry=registry)
        client.start()
        fake.faults = FaultSchedule(
            next_orders=[Fault.TIMEOUT_AFTER_ACCEPT, Fault.INSUFFICIENT_FUNDS]
        )
        client.submit(OrderIntent("a", "BTC", Side.BUY, 0.01, OrderType.MARKET, 7000.0))
        client.submit(OrderIntent("b", "BTC", Side.BUY, 0.01, OrderType.MARKET, 7000.0))
        # A careless line elsewhere in the process is caught by the redaction guard.
        logging.getLogger("somewhere").warning(
            "key %s secret %s", credentials.api_key, credentials.api_secret
        )
    finally:
        root.handlers[:], root.level = saved
    logs, metrics = stream.getvalue(), generate_latest(registry).decode()
    assert (
        "kraken_ready" in logs
        and "kraken_order_unclear" in logs
        and "krakenops_kraken_requests" in metrics
    )
    assert "[REDACTED]" in logs
    for secret in (
        credentials.api_key,
        credentials.api_secret,
        base64.b64decode(credentials.api_secret).hex(),
    ):
        assert secret not in logs
        assert secret not in metrics


def test_the_live_probe_reaches_kraken_for_the_start_up_banner(
    tmp_path: Path,
    clock,
    fake: FakeKraken,
    credentials: Credentials,
    live_config,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv(
        "KRAKENOPS_CREDENTIALS_DIR", str(write_secret(tmp_path / "secret", credentials))
    )
    monkeypatch.setenv(KRAKEN_URL_ENV, fake.url)
    probe = live_connectivity(clock)
    check = verify_startup(live_config, clock, probe).checks[-1]
    assert (check.outcome, check.text) == (Outcome.PASS, "Kraken connectivity: API READY (live)")
    monkeypatch.setenv("KRAKENOPS_CREDENTIALS_DIR", str(tmp_path / "nowhere"))
    failed = probe(live_config)
    assert failed.outcome is Outcome.FAIL and "api-key is missing" in failed.text

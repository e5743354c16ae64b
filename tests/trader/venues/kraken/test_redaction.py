"""The redaction guard: no form of a key reaches a log, whatever shape the record takes."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenops.core.jsonlog import JsonFormatter
from krakenops.trader.venues.kraken.credentials import _GUARDS, SecretRedactor, load_credentials
from krakenops.trader.venues.kraken.errors import CredentialsError

SECRETS = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=12)


def chained(logger: logging.Logger, secret: str) -> None:
    try:
        try:
            raise ValueError(f"signing with {secret}")
        except ValueError as inner:
            raise RuntimeError("request failed") from inner
    except RuntimeError:
        logger.exception("order failed")


def in_a_dict(logger: logging.Logger, secret: str) -> None:
    logger.warning("headers", extra={"headers": {"API-Key": secret, "n": 1}})


def in_a_list(logger: logging.Logger, secret: str) -> None:
    logger.warning("args", extra={"sent": ["AddOrder", {"key": [secret]}]})


def escaped(logger: logging.Logger, secret: str) -> None:
    # requests' InvalidHeader shows a header value by repr: a newline in a key appears as "\n".
    logger.error("Invalid header value %r", (secret[:5] + "\n" + secret[5:]).encode())


LEAKS: list[Callable[[logging.Logger, str], None]] = [chained, in_a_dict, in_a_list, escaped]


@settings(max_examples=100, deadline=None)
@given(secret=SECRETS, leak=st.sampled_from(LEAKS))
def test_no_form_of_a_secret_reaches_a_handler_added_after_the_guard(
    secret: str, leak: Callable[[logging.Logger, str], None]
):
    with_newline = secret[:5] + "\n" + secret[5:]
    guard = SecretRedactor((secret, with_newline))
    guard.install(logging.getLogger("redaction-test"))
    logger = logging.getLogger("redaction-test.child")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # added after the guard was installed
    handler.setFormatter(JsonFormatter("trader"))
    logger.addHandler(handler)
    logger.propagate = False
    try:
        leak(logger, secret)
    finally:
        logger.removeHandler(handler)
        logging.getLogger("redaction-test").removeFilter(guard)
        _GUARDS.remove(guard)
    written = stream.getvalue()
    assert "[REDACTED]" in written
    for form in (secret, repr(secret)[1:-1], repr(with_newline)[1:-1]):
        assert form not in written


@pytest.mark.parametrize("content", ["abc\ndef", "key with space", "tab\tkey", "ключ"])
def test_a_credentials_file_that_is_not_a_plausible_key_is_refused(tmp_path: Path, content: str):
    (tmp_path / "api-key").write_text(content)
    (tmp_path / "api-secret").write_text("c2VjcmV0")
    with pytest.raises(CredentialsError, match="api-key is not a plausible key") as refused:
        load_credentials(tmp_path)
    assert content not in str(refused.value)

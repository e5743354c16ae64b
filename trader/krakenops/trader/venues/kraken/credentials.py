"""Kraken API credentials: read only from the files of a mounted Secret, never shown anywhere."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from krakenops.core.api import credentials_dir
from krakenops.trader.venues.kraken.errors import CredentialsError

__all__ = ["REDACTED", "Credentials", "SecretRedactor", "load_credentials"]

REDACTED = "[REDACTED]"
_MAX_KEY = 512
# Kraken's keys and secrets are base64 text: printable ASCII without whitespace.
_PLAUSIBLE = re.compile(rf"[!-~]{{1,{_MAX_KEY}}}")


@dataclass(frozen=True)
class Credentials:
    """One API key and its secret; repr and str show neither."""

    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)

    def __str__(self) -> str:
        return f"Credentials(api_key={REDACTED}, api_secret={REDACTED})"

    def secrets(self) -> tuple[str, ...]:
        """The strings a log line or metric must never contain."""
        return (self.api_key, self.api_secret)


def load_credentials(folder: Path | None = None) -> Credentials:
    """Read `api-key` and `api-secret` from the Secret's files; errors name files, not values."""
    folder = folder or credentials_dir()
    values: dict[str, str] = {}
    for name in ("api-key", "api-secret"):
        path = folder / name
        try:
            values[name] = path.read_text().strip()
        except FileNotFoundError:
            raise CredentialsError(f"credentials file {path} is missing") from None
        except OSError as error:
            raise CredentialsError(f"credentials file {path}: {error.strerror}") from None
        if not values[name]:
            raise CredentialsError(f"credentials file {path} is empty")
        if not _PLAUSIBLE.fullmatch(values[name]):
            # A newline or a space inside is a broken file, and would reach an HTTP header.
            raise CredentialsError(
                f"credentials file {path} is not a plausible key: it holds whitespace, control "
                f"or non-ASCII characters, or is over {_MAX_KEY} characters"
            )
    try:
        # Kraken signs with the base64-decoded secret; a secret that does not decode is a typo.
        base64.b64decode(values["api-secret"], validate=True)
    except (binascii.Error, ValueError):
        raise CredentialsError(
            f"{folder / 'api-secret'} is not base64, as Kraken issues it"
        ) from None
    return Credentials(values["api-key"], values["api-secret"])


class SecretRedactor(logging.Filter):
    """A guard on every log record: any record that would print a secret has it replaced first.

    The client never logs credentials on purpose; this catches what might slip through an
    exception text (its causes included), a field holding a dict or list, or a third-party
    library's debug line, in any form a secret is shown: as is, escaped, or JSON-quoted.
    """

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()
        forms = {form for s in secrets if s for form in _shown_forms(s)}
        # Longest first: a secret's escaped form may contain a shorter form of it.
        self._secrets = tuple(sorted(forms, key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        for key, value in list(vars(record).items()):
            if key not in ("msg", "message", "args", "exc_info"):
                scrubbed = self._scrub(value)
                if scrubbed is not value:
                    setattr(record, key, scrubbed)
        if record.exc_info and record.exc_info[1] is not None:
            # The whole chain as a formatter would print it: causes and contexts included.
            text = "".join(traceback.format_exception(record.exc_info[1]))
            cleaned = self.redact(text)
            if cleaned != text:
                record.exc_info = None
                record.exc_text = cleaned.rstrip("\n")
        return True

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def _scrub(self, value: object) -> object:
        """`value` with every secret replaced; the same object when it held none."""
        if isinstance(value, str):
            cleaned = self.redact(value)
            return value if cleaned == value else cleaned
        if isinstance(value, dict):
            items = {k: self._scrub(v) for k, v in value.items()}
            keys = {self._scrub(k): v for k, v in items.items()}
            changed = any(items[k] is not value[k] for k in value) or keys.keys() != value.keys()
            return keys if changed else value
        if isinstance(value, (list, tuple, set, frozenset)):
            scrubbed = [self._scrub(v) for v in value]
            if all(a is b for a, b in zip(scrubbed, value, strict=False)):
                return value
            return scrubbed if isinstance(value, list) else tuple(scrubbed)
        return value

    def install(self, logger: logging.Logger | None = None) -> None:
        """Guard every record any logger makes from now on, whatever handlers come later, and
        every handler of `logger` (the root logger by default) as it is now."""
        target = logger or logging.getLogger()
        target.addFilter(self)
        for handler in target.handlers:
            handler.addFilter(self)
        _GUARDS.append(self)


def _shown_forms(secret: str) -> set[str]:
    """How a secret can appear in text: as is, escaped (repr, as in an exception message), JSON."""
    return {secret, repr(secret)[1:-1], json.dumps(secret)[1:-1]}


_GUARDS: list[SecretRedactor] = []
_make_record = logging.Logger.makeRecord


def _guarded_make_record(self: logging.Logger, *args: Any, **kwargs: Any) -> logging.LogRecord:
    # Every record passes here with its extra fields, whichever logger or handler it goes to.
    record = _make_record(self, *args, **kwargs)
    for guard in _GUARDS:
        guard.filter(record)
    return record


logging.Logger.makeRecord = _guarded_make_record  # type: ignore[method-assign]

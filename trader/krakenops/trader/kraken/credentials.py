"""Kraken API credentials: read only from the files of a mounted Secret, never shown anywhere."""

from __future__ import annotations

import base64
import binascii
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from krakenops.trader.kraken.errors import CredentialsError

__all__ = [
    "DEFAULT_CREDENTIALS_DIR",
    "REDACTED",
    "Credentials",
    "SecretRedactor",
    "credentials_dir",
    "load_credentials",
]

DEFAULT_CREDENTIALS_DIR = Path("/var/run/secrets/krakenops/kraken")
REDACTED = "[REDACTED]"


def credentials_dir() -> Path:
    """Where the Secret is mounted: `KRAKENOPS_CREDENTIALS_DIR`, else the chart's mount path."""
    configured = os.environ.get("KRAKENOPS_CREDENTIALS_DIR")
    return Path(configured) if configured else DEFAULT_CREDENTIALS_DIR


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
    try:
        # Kraken signs with the base64-decoded secret; a secret that does not decode is a typo.
        base64.b64decode(values["api-secret"], validate=True)
    except (binascii.Error, ValueError):
        raise CredentialsError(
            f"{folder / 'api-secret'} is not base64, as Kraken issues it"
        ) from None
    return Credentials(values["api-key"], values["api-secret"])


class SecretRedactor(logging.Filter):
    """A guard on log handlers: any record that would print a secret has it replaced first.

    The client never logs credentials on purpose; this catches what might slip through an
    exception text or a third-party library's debug line.
    """

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        for key, value in list(vars(record).items()):
            if isinstance(value, str) and key not in ("msg", "message"):
                setattr(record, key, self.redact(value))
        if record.exc_info and record.exc_info[1] is not None:
            text = self.redact(str(record.exc_info[1]))
            if text != str(record.exc_info[1]):
                record.exc_info = None
                record.msg = f"{record.msg} ({text})"
        return True

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def install(self, logger: logging.Logger | None = None) -> None:
        """Guard every handler of `logger` (the root logger by default) and the logger itself."""
        target = logger or logging.getLogger()
        target.addFilter(self)
        for handler in target.handlers:
            handler.addFilter(self)

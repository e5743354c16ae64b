"""What can go wrong talking to Kraken, sorted by what the trader must do about it."""

from __future__ import annotations

__all__ = ["CredentialsError", "OrderRefusedError", "TradingHaltedError"]


class CredentialsError(RuntimeError):
    """The credentials Secret is missing, empty or malformed; the message never holds a value."""


class OrderRefusedError(ValueError):
    """An order the client will not send: it breaks the pair's trading rules (minimums, status)."""


class TradingHaltedError(RuntimeError):
    """Fail closed: something about money is unknown or inconsistent, so no order may be sent.

    The message says what could not be resolved; trading resumes only after a human has
    looked and the trader is restarted.
    """

"""The fake Kraken of the Kraken venue's suite, for parity's live side."""

from tests.trader.venues.kraken.conftest import bars, credentials, trading_config

__all__ = ["bars", "credentials", "trading_config"]

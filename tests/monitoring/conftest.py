"""The operator on the API emulator and a live client on the fake Kraken, as their own suites run them."""

from tests.operator.conftest import apiserver, artifact_root, kubeconfig, settings, window_clock
from tests.trader.venues.kraken.conftest import bars, connect, credentials, fake

__all__ = [
    "apiserver",
    "artifact_root",
    "bars",
    "connect",
    "credentials",
    "fake",
    "kubeconfig",
    "settings",
    "window_clock",
]

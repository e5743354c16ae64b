"""A fake Kraken REST server for the tests: real API shapes, signature checks, injected faults."""

from tests.fakekraken.faults import Fault, FaultSchedule, RandomFaults, ScriptedFaults
from tests.fakekraken.server import FakeKraken

__all__ = ["FakeKraken", "Fault", "FaultSchedule", "RandomFaults", "ScriptedFaults"]

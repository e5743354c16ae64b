"""A Kubernetes API emulator for the operator's tests, built on kmock."""

from tests.operator.emulator.server import ApiError, ApiServer

__all__ = ["ApiError", "ApiServer"]

"""`krakenops operator`: run the Kopf operator with settings from the environment."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

import kopf
from pydantic import ValidationError

from krakenops.operator.settings import OperatorSettings

__all__ = ["liveness_endpoint", "operator_command"]


def operator_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="krakenops operator",
        description="Reconcile TradingEnvironments and ModelPromotions (settings: KRAKENOPS_OPERATOR_*).",
    )
    # This module lives in krakenops.operator, whose import registered the handlers with Kopf.
    parser.add_argument("--verbose", action="store_true", help="log Kopf's debug messages")
    args = parser.parse_args(argv)
    try:
        settings = OperatorSettings.from_env()
    except ValidationError as error:
        print(f"krakenops operator: invalid settings:\n{error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    asyncio.run(
        kopf.operator(
            namespaces=[settings.namespace],
            clusterwide=False,
            standalone=True,
            liveness_endpoint=liveness_endpoint(settings),
            memo=kopf.Memo(settings=settings),
        )
    )
    return 0


def liveness_endpoint(settings: OperatorSettings) -> str | None:
    """Where Kopf serves /healthz for the kubelet's probe, on every interface; None when disabled."""
    return f"http://0.0.0.0:{settings.liveness_port}/healthz" if settings.liveness_port else None

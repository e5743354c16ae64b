"""Names the operator, the cluster tools and the pods share: the API group and the Secret's mount."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

__all__ = [
    "API_VERSION",
    "CREDENTIALS_DIR",
    "CREDENTIALS_DIR_VARIABLE",
    "GROUP",
    "MODEL_PROMOTIONS",
    "PROMOTION_KIND",
    "TRADING_ENVIRONMENTS",
    "TRADING_ENVIRONMENT_KIND",
    "VERSION",
    "credentials_dir",
]

GROUP: Final = "krakenops.io"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
TRADING_ENVIRONMENTS: Final = "tradingenvironments"
TRADING_ENVIRONMENT_KIND: Final = "TradingEnvironment"
MODEL_PROMOTIONS: Final = "modelpromotions"
PROMOTION_KIND: Final = "ModelPromotion"

# The operator mounts the live Secret here; the trader and the start-up checks read it here.
CREDENTIALS_DIR: Final = Path("/var/run/secrets/krakenops/kraken")
CREDENTIALS_DIR_VARIABLE: Final = "KRAKENOPS_CREDENTIALS_DIR"


def credentials_dir() -> Path:
    """Where the Secret is mounted: `KRAKENOPS_CREDENTIALS_DIR`, else the chart's mount path."""
    configured = os.environ.get(CREDENTIALS_DIR_VARIABLE)
    return Path(configured) if configured else CREDENTIALS_DIR

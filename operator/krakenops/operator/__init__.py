"""The Kopf operator of krakenops: `kopf run -m krakenops.operator` or `krakenops operator`.

Importing the package registers its handlers with Kopf, as `kopf run -m` expects.
"""

from krakenops.operator import handlers

__all__ = ["handlers"]

"""krakenops trader component."""

import logging

# A library stays silent until the process configures logging (the trading loop does); without
# this, warnings of a backtest run inside the trainer would go to stderr through logging's last resort.
logging.getLogger(__name__).addHandler(logging.NullHandler())

"""krakenops trainer component."""

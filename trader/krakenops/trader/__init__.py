"""krakenops trader component."""

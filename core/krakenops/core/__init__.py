"""krakenops core component."""

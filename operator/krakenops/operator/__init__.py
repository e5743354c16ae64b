"""krakenops operator component."""

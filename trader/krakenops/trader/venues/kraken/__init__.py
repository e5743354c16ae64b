"""Kraken through ccxt: the live execution client, its ledger, rate limiter and safety checks."""

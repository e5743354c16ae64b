"""Replays: the engine over recorded bars (backtests, paper/live parity), and what makes them fast."""

"""Execution: orders and fills, the execution client every venue is, and the venues by mode."""

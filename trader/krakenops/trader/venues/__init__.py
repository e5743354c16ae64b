"""The venues an execution client trades on: the paper simulator and Kraken."""

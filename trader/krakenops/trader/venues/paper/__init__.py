"""The paper venue: a Kraken-like spot account simulated in process."""

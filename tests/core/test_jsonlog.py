"""Logging: one JSON object a line, with component and event fields."""

from __future__ import annotations

import io
import json
import logging

from krakenops.core.jsonlog import event, setup_logging


def test_records_are_json_lines_with_component_and_event():
    stream = io.StringIO()
    setup_logging("trader", stream=stream)
    try:
        event(
            logging.getLogger("krakenops.trader.risk"),
            logging.WARNING,
            "risk_rejected",
            "trade rejected",
            symbol="BTC",
            reason="PortfolioHeat",
        )
        logging.getLogger("other").info("plain")
    finally:
        setup_logging("test", stream=io.StringIO())
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["component"] == "trader" and first["event"] == "risk_rejected"
    assert (
        first["level"] == "WARNING"
        and first["symbol"] == "BTC"
        and first["reason"] == "PortfolioHeat"
    )
    assert second["event"] == "log" and second["message"] == "plain"

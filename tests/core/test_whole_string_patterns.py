"""Ids, digests, times and environment names match as whole strings: no trailing newline slips in."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from krakenops.core.config import DowntimeSettings
from krakenops.core.records import parse_model_id
from krakenops.core.window import parse_hhmm
from krakenops.trainer.approval import BadInputError, environment_id

SUFFIXES = st.sampled_from(["\n", "\r\n", "\n\n", " ", "\t", "\x00", "\u2028"])
MODEL_IDS = st.text(alphabet="abcz0189_", min_size=1, max_size=20).map(lambda s: "model_" + s)
TIMES = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))


@given(model_id=MODEL_IDS, suffix=SUFFIXES)
def test_a_model_id_with_anything_after_it_is_refused(model_id: str, suffix: str):
    assert parse_model_id(model_id) == model_id
    with pytest.raises(ValueError, match="is not a model id"):
        parse_model_id(model_id + suffix)


@given(text=TIMES, suffix=SUFFIXES)
def test_a_time_with_anything_after_it_is_refused(text: str, suffix: str):
    parse_hhmm(text)
    with pytest.raises(ValueError, match="is not a time of day"):
        parse_hhmm(text + suffix)


def test_a_window_start_with_a_newline_is_refused_by_the_config():
    with pytest.raises(ValueError, match="is not a time of day"):
        DowntimeSettings(start="03:00\n", end="03:00")


@given(suffix=SUFFIXES)
def test_an_environment_name_with_anything_after_it_is_refused(suffix: str):
    with pytest.raises(BadInputError):
        environment_id("live_kraken_crypto_global" + suffix)

"""Subjects, headers and message ids of the JetStream layout (no server needed)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mdstream._core import RESULT_DTYPE
from mdstream.errors import InvalidArgumentError
from mdstream.nats import frames
from mdstream.nats.subjects import (
    MessageSeqs,
    check_prefix,
    msg_id,
    subject_of,
    symbol_of,
    symbol_token,
)
from mdstream.text import check_symbol_name


def _valid_name(name: str) -> bool:
    try:
        check_symbol_name(name)
    except Exception:
        return False
    return True


@given(st.text(min_size=1, max_size=40).filter(_valid_name))
@example("BRK.B")
@example("ES*>%")
@example("BTC-USDT")
def test_every_symbol_name_is_one_subject_token_and_comes_back(name):
    subject = subject_of("md.feed", name)
    token = subject.split(".", 2)[2]
    assert token == symbol_token(name)
    assert not set(token) & set(". *>\t\r\n")
    assert symbol_of("md.feed", subject) == name


def test_plain_names_stay_readable():
    assert subject_of("mdstream", "AAPL") == "mdstream.AAPL"
    assert subject_of("mdstream", "BTC-USDT") == "mdstream.BTC-USDT"
    assert subject_of("mdstream", "BRK.B") == "mdstream.BRK%2EB"
    assert msg_id("s1", 10, 20, "BRK.B") == "s1:10:20:BRK%2EB"


def test_bad_prefixes_and_headers_are_refused_with_what_is_wrong():
    with pytest.raises(InvalidArgumentError, match="wildcards"):
        check_prefix("md.>")
    with pytest.raises(InvalidArgumentError, match="Mdstream-First-Seq"):
        MessageSeqs.of({"Mdstream-Last-Seq": "3"})
    with pytest.raises(InvalidArgumentError, match="bad header"):
        MessageSeqs.of(MessageSeqs(1, 2, 1, 2, 1, 0, "s").headers() | {"Mdstream-Part": "x"})
    with pytest.raises(InvalidArgumentError, match="not one of"):
        symbol_of("mdstream", "other.AAPL")


@given(st.lists(st.integers(0, 5), min_size=1, max_size=200))
def test_split_by_symbol_then_merge_gives_the_batch_back(symbol_ids):
    rows = np.zeros(len(symbol_ids), dtype=RESULT_DTYPE)
    rows["seq"] = np.arange(len(rows)) + 1000
    rows["symbol_id"] = symbol_ids
    rows["price"] = np.arange(len(rows)) * 0.5
    names = [f"S{i}" for i in range(6)]
    parts = list(frames.split_by_symbol(rows))
    assert [sid for sid, _ in parts] == sorted(set(symbol_ids))
    decoded = []
    for sid, part in parts:
        back, symbols = frames.decode_message(frames.encode_part(part, names))
        assert symbols == {sid: f"S{sid}"}            # every message names its symbol
        assert (back["symbol_id"] == sid).all() and (np.diff(back["seq"]) > 0).all()
        decoded.append(back)
    merged = frames.merge_parts(decoded)
    assert merged.tobytes() == rows.tobytes()

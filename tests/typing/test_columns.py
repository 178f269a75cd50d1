"""ResultBatch's declared columns are exactly RESULT_DTYPE's fields, each
typed with the field's NumPy scalar type, and read as views of the rows."""

from __future__ import annotations

import numpy as np
import pytest

from mdstream import RESULT_DTYPE, ResultBatch
from mdstream.batch import Column

DECLARED = {name: c for name, c in vars(ResultBatch).items() if isinstance(c, Column)}


def test_every_field_is_a_declared_column_of_its_dtype():
    assert set(DECLARED) == set(RESULT_DTYPE.names)
    for name, column in DECLARED.items():
        assert RESULT_DTYPE[name].type is column.scalar, (name, RESULT_DTYPE[name], column.scalar)
        assert column.name == name


def test_columns_are_views_and_a_misspelling_names_the_columns():
    rows = np.zeros(3, dtype=RESULT_DTYPE)
    rows["price"] = [1.0, 2.0, 3.0]
    batch = ResultBatch(rows, ["AAPL"])
    assert batch.price.dtype == np.float64 and batch.seq.dtype == np.int64
    assert np.shares_memory(batch.price, rows)
    batch.price[0] = 9.0                      # a view: no copy
    assert rows["price"][0] == 9.0
    with pytest.raises(AttributeError, match="no column 'prise'; columns: seq, ts_ns"):
        batch.prise  # noqa: B018

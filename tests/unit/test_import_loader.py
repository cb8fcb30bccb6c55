"""The bulk loader's JSON: what SQLite's json_each reads must be what pandas would have written."""

import json

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from db import loader


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=-2**62, max_value=2**62), st.one_of(st.none(), st.text()),
                          st.booleans()), min_size=1, max_size=20))
def test_the_bulk_json_writer_writes_what_pandas_writes(rows):
    frame = pd.DataFrame({"n": np.array([r[0] for r in rows], dtype=np.int64),
                          "t": loader.arrow_text(pa.array([r[1] for r in rows], type=pa.string())),
                          "b": np.array([r[2] for r in rows], dtype=bool)})
    for part in (frame, frame.iloc[1:]):
        assert json.loads(loader.json_rows(part)) == json.loads(part.to_json(orient="values", force_ascii=False))

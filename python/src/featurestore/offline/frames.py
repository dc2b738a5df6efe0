"""Tables in and out of a training set: what a user hands over (a pandas DataFrame, an Arrow table, a Parquet
file) as Arrow, its time columns as zone-less UTC for the join, and the result given back with the spine's own
columns exactly as they went in (nullable integers, categories, strings, time zones).

Only the columns the join needs (the keys, the label time and a row number) go through the join; the spine's
other columns are taken from the input itself and put beside the joined features afterwards, in the spine's
row order. So the join neither converts nor narrows a spine column, and a wide spine costs nothing extra.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from featurestore.core.errors import TrainingSetError

# Added to the spine to give the result back in the spine's order, then dropped.
SPINE_ROW_COLUMN = "featurestore_spine_row"


def is_parquet_path(value: object) -> bool:
    """A path (pathlib) or a string naming a `.parquet` file or a folder of them."""
    return isinstance(value, Path) or (isinstance(value, str) and value.lower().endswith((".parquet", ".parq")))


def arrow_table(value: Any, what: str) -> pa.Table:
    """`value` (an Arrow table, a pandas DataFrame, a Parquet path, or an object with to_arrow() such as a
    Polars frame) as an Arrow table; `what` names it in errors (e.g. "the spine")."""
    if isinstance(value, pa.Table):
        return value
    if isinstance(value, pa.RecordBatch):
        return pa.Table.from_batches([value])
    if is_parquet_path(value):
        try:
            return pq.read_table(value)
        except (OSError, pa.ArrowInvalid) as error:
            raise TrainingSetError(f"cannot read {what} from Parquet {str(value)!r}: {error}") from error
    if hasattr(value, "to_arrow") and not hasattr(value, "columns"):
        return value.to_arrow()
    if hasattr(value, "columns") and hasattr(value, "dtypes"):
        try:
            # The index is not data: a spine's columns are what comes back (the facade restores the index).
            return pa.Table.from_pandas(value, preserve_index=False)
        except (TypeError, ValueError, pa.ArrowException) as error:
            raise TrainingSetError(f"cannot convert {what} (a pandas DataFrame) to Arrow: {error}") from error
    raise TrainingSetError(
        f"{what} must be a pandas DataFrame, a pyarrow Table, a Parquet path or a table name, "
        f"got {type(value).__name__}"
    )


def require_columns(table: pa.Table, columns: Iterable[str], what: str, role: str) -> None:
    """A clear error when `table` lacks one of `columns` (`role` says what the column is for)."""
    for column in columns:
        if column not in table.column_names:
            raise TrainingSetError(
                f"{role} '{column}' is not a column of {what} (columns: {', '.join(table.column_names)})"
            )


def utc_time_column(table: pa.Table, column: str, what: str, role: str) -> pa.Table:
    """`table` with `column` as a zone-less UTC timestamp[us]: a zone is converted (Arrow keeps instants in
    UTC, so dropping the zone keeps the UTC wall time), a date becomes its midnight; anything else is refused.
    Nanoseconds are truncated, which can only move a time earlier: never a leak."""
    data_type = table.schema.field(column).type
    if pa.types.is_timestamp(data_type) or pa.types.is_date(data_type):
        values = table[column].cast(pa.timestamp(data_type.unit if pa.types.is_timestamp(data_type) else "us"))
        if values.type.unit != "us":
            values = values.cast(pa.timestamp("us"), safe=False)
        return table.set_column(table.column_names.index(column), column, values)
    raise TrainingSetError(
        f"{role} '{column}' of {what} must be a timestamp column (UTC, or with a time zone), not {data_type}; "
        "parse it first, e.g. pandas.to_datetime(frame[column], utc=True)"
    )


def join_spine(table: pa.Table, spine_time: str, key_columns: Sequence[str]) -> pa.Table:
    """The part of the spine that goes through the join: the key columns present (a missing one is reported by
    the macro, which names the group), the label time as zone-less UTC and the row number. Dictionary
    (category) keys are decoded, so they compare with the feature groups' plain columns."""
    require_columns(table, [spine_time], "the spine", "spine_time")
    if SPINE_ROW_COLUMN in table.column_names:
        raise TrainingSetError(f"the spine must not have a column named {SPINE_ROW_COLUMN} (it is used internally)")
    wanted = [column for column in dict.fromkeys([*key_columns, spine_time]) if column in table.column_names]
    narrow = table.select(wanted)
    for index, field in enumerate(narrow.schema):
        if pa.types.is_dictionary(field.type):
            narrow = narrow.set_column(index, field.name, narrow[field.name].cast(field.type.value_type))
    narrow = utc_time_column(narrow, spine_time, "the spine", "spine_time")
    # From numpy's buffer: pa.array() converts a Python range value by value, and for a numpy array it imports
    # pandas (seconds, before the first training set of a `featurestore` command).
    numbers = np.arange(narrow.num_rows, dtype=np.int64)
    rows = pa.Array.from_buffers(pa.int64(), narrow.num_rows, [None, pa.py_buffer(numbers)])
    return narrow.append_column(SPINE_ROW_COLUMN, rows)


def with_spine_columns(spine: pa.Table, joined: pa.Table, join_columns: Sequence[str]) -> pa.Table:
    """The training set: every column of `spine` as it went in, then the joined outputs (the columns of
    `joined`, in the spine's row order, that are not `join_columns`). An output named like a spine column is
    refused (the macro only saw the join columns)."""
    outputs = [name for name in joined.column_names if name not in join_columns]
    clashes = [name for name in outputs if name in spine.column_names]
    if clashes:
        raise TrainingSetError(
            f"output column(s) {', '.join(clashes)} would replace the spine's column(s) of the same name; rename the "
            "feature (full_feature_names=True prefixes it with its group) or the spine column"
        )
    if joined.num_rows != spine.num_rows:  # the macro returns every spine row exactly once
        raise TrainingSetError(f"the join returned {joined.num_rows} rows for a spine of {spine.num_rows}")
    columns = [*spine.columns, *(joined[name] for name in outputs)]
    fields = [*spine.schema, *(joined.schema.field(name) for name in outputs)]
    # The spine's schema metadata (pandas' dtypes) goes along, so to_pandas() gives its dtypes back.
    return pa.Table.from_arrays(columns, schema=pa.schema(fields, metadata=spine.schema.metadata))


def training_frame(spine: Any, training_set: pa.Table) -> Any:
    """`training_set` as pandas: when the spine was a DataFrame, its own columns (same dtypes, same index) with
    the features beside them; otherwise Arrow's conversion."""
    if not (hasattr(spine, "columns") and hasattr(spine, "dtypes") and hasattr(spine, "assign")):
        return training_set.to_pandas()
    outputs = training_set.drop_columns([str(name) for name in spine.columns]).to_pandas()
    # Arrays, not Series: assigned by position, so a repeated index value cannot misalign them.
    return spine.assign(**{str(name): outputs[name].array for name in outputs.columns})

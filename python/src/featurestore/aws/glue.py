"""Glue table definitions: Parquet tables at an S3 location, for the raw data and for uploaded spines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from featurestore.core.errors import TrainingSetError

PARTITION_COLUMN = "dt"
_PARQUET_STORAGE: Mapping[str, Any] = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
}


@dataclass(frozen=True)
class RawTable:
    name: str
    columns: dict[str, str]  # column -> Glue type, in order, the partition column included

    @property
    def is_partitioned(self) -> bool:
        return PARTITION_COLUMN in self.columns


def glue_table_input(table: RawTable, location: str) -> dict[str, Any]:
    """A Glue TableInput for a raw Parquet table at `location` (partitioned by `dt` when it has that column)."""
    data_columns = [
        {"Name": name, "Type": glue_type}
        for name, glue_type in table.columns.items()
        if not (table.is_partitioned and name == PARTITION_COLUMN)
    ]
    table_input: dict[str, Any] = {
        "Name": table.name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE"},
        "StorageDescriptor": {"Columns": data_columns, "Location": location, **_PARQUET_STORAGE},
    }
    if table.is_partitioned:
        table_input["PartitionKeys"] = [{"Name": PARTITION_COLUMN, "Type": "string"}]
    return table_input


def glue_type(column: str, data_type: pa.DataType) -> str:
    """The Glue/Hive type that Athena reads a Parquet column of `data_type` as."""
    simple = {
        pa.int8(): "tinyint",
        pa.int16(): "smallint",
        pa.int32(): "int",
        pa.int64(): "bigint",
        pa.float32(): "float",
        pa.float64(): "double",
        pa.bool_(): "boolean",
        pa.string(): "string",
        pa.large_string(): "string",
        pa.date32(): "date",
    }
    if data_type in simple:
        return simple[data_type]
    if pa.types.is_timestamp(data_type):
        return "timestamp"
    if pa.types.is_decimal(data_type):
        return f"decimal({data_type.precision},{data_type.scale})"
    raise TrainingSetError(
        f"spine column '{column}' has type {data_type}, which the Athena path does not upload; "
        "cast it to an integer, double, boolean, string, date, timestamp or decimal column"
    )

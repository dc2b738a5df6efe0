"""The offline engine of the `local` dbt target: the DuckDB file dbt builds."""

from featurestore.offline.duckdb.reader import DuckDBOfflineStore
from featurestore.offline.duckdb.training_sets import LocalTrainingSets

__all__ = ["DuckDBOfflineStore", "LocalTrainingSets"]

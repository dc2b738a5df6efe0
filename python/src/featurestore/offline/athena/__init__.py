"""The offline engine of the `athena` dbt target: Iceberg tables read through Athena."""

from featurestore.offline.athena.reader import AthenaOfflineStore
from featurestore.offline.athena.training_sets import AthenaTrainingSets

__all__ = ["AthenaOfflineStore", "AthenaTrainingSets"]

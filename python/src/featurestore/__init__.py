"""featurestore: the Python side of a dbt-native feature store (contracts, demo data, online store)."""

__version__ = "0.1.0"

"""The DynamoDB online store, one module per job: tables (lifecycle, TTL), codec (items), reads, writes,
full_load (scan and repair), lease (the per-group lease of batched writes); store.py puts them together."""

from featurestore.online.dynamodb.store import DynamoDBOnlineStore

__all__ = ["DynamoDBOnlineStore"]

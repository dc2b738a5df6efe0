"""S3 locations and objects."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from featurestore.core.errors import S3LocationError


def split_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of an s3:// URI; the key keeps a trailing slash (a prefix) and has no leading one."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise S3LocationError(uri)
    return parsed.netloc, parsed.path.lstrip("/")


def delete_prefix(s3: Any, bucket: str, prefix: str) -> None:
    """Delete every object under `prefix` (page by page: listing and batch deletes stop at 1,000 keys)."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})

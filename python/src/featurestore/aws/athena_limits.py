"""Athena's service limits that the SQL we generate can hit, checked before a query is sent.

The query string is limited to 262,144 bytes of UTF-8 ("Service Quotas" in the Athena User Guide, not
adjustable). The point-in-time join's window method grows with every feature and group of a training
set, so a wide request is refused here with what to change, rather than by Athena after the spine's
upload with a bare InvalidRequestException.
"""

from __future__ import annotations

from featurestore.core.errors import QueryTooLongError

MAX_QUERY_BYTES = 262_144


def check_query_size(sql: str, what: str) -> None:
    """Raise QueryTooLongError naming `what` when `sql` is over Athena's query string limit."""
    size = len(sql.encode("utf-8"))
    if size > MAX_QUERY_BYTES:
        raise QueryTooLongError(
            f"{what} is {size:,} bytes of SQL, over Athena's limit of {MAX_QUERY_BYTES:,} bytes per query; "
            "ask for fewer features or feature groups at a time (a training set's feature list can be split "
            "into several requests over the same spine, whose results come back in spine order and can be "
            "joined column by column)"
        )

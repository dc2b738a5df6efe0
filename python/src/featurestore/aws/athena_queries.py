"""Running a query on Athena through pyathena and getting its result as a pyarrow Table.

Two ways, for the two sizes of result:

- `unload`: the query runs as `UNLOAD (...) TO '<staging dir>featurestore-unload/<uuid>/'` to Parquet, the
  files listed in UNLOAD's manifest are read in bulk with pyarrow (not row by row through GetQueryResults
  pages), and the output and the manifest are removed afterwards, also when the query or the reading fails.
  For results of any size: training sets, and the online sync's reads (a full load reads every entity).
- `fetch`: a plain query whose rows come back through GetQueryResults; for a few rows, where UNLOAD's extra
  S3 round trips would cost more than they save.

pyathena's own ArrowCursor(unload=True) does the same reading as `unload`, but its pyarrow S3 filesystem cannot
be pointed at another endpoint, so the path could not be tested against a stand-in; reading the manifest
ourselves keeps one code path for AWS and for tests.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from featurestore.aws.athena_limits import check_query_size
from featurestore.aws.s3 import delete_prefix, split_s3_uri
from featurestore.core.errors import OfflineStoreError
from featurestore.core.identifiers import quote_identifier
from featurestore.core.settings import AthenaSettings

UNLOAD_FOLDER = "featurestore-unload"  # under the staging dir; each UNLOAD gets its own folder, removed after reading


class AthenaQueryRunner:
    """Runs SQL on the Athena of `location` with `session`'s credentials (a new boto3 session for the location's
    region if None). `poll_interval`: seconds between pyathena's query status polls.

    Every failure raises OfflineStoreError "<what> failed on Athena: <cause>", `what` naming the query for the
    reader (e.g. "reading feature group 'x'")."""

    def __init__(self, location: AthenaSettings, session: Any = None, *, poll_interval: float = 1.0) -> None:
        import boto3

        self.location = location
        # Any: boto3-stubs types Session.client per literal service name, and this class takes any.
        self.session: Any = session or boto3.Session(region_name=location.region)
        self.poll_interval = poll_interval

    def client(self, service: str) -> Any:
        """A boto3 client of the session, at the location's region and endpoint."""
        return self.session.client(service, region_name=self.location.region, endpoint_url=self.location.endpoint_url)

    def fetch(self, sql: str, *, what: str) -> pa.Table:
        """Run `sql` and fetch its rows through GetQueryResults, into columns named as the query's."""
        check_query_size(sql, what)
        try:
            connection = self._connect()
            try:
                cursor = connection.cursor()
                cursor.execute(sql)
                names = [column[0] for column in cursor.description or []]
                rows = cursor.fetchall()
            finally:
                connection.close()
            return pa.table({name: [row[index] for row in rows] for index, name in enumerate(names)})
        except Exception as error:  # pyathena wraps botocore and query failures in its own DB-API errors
            raise OfflineStoreError(f"{what} failed on Athena: {error}") from error

    def unload(self, sql: str, *, what: str) -> pa.Table:
        """Run `sql` as an UNLOAD to Parquet and read the files it wrote; removes them (and the manifest) after.

        A query of no rows gives a table without columns: UNLOAD writes no file then, so there is no schema to
        read (callers that know the column names restore them)."""
        target = f"{self.location.s3_staging_dir.rstrip('/')}/{UNLOAD_FOLDER}/{uuid.uuid4().hex}/"
        statement = f"unload ({sql}) to '{target}' with (format = 'PARQUET', compression = 'SNAPPY')"
        check_query_size(statement, what)
        try:
            s3 = self.client("s3")
            manifest: str | None = None
            try:
                manifest = self._execute_unload(statement)
                if not manifest:
                    raise OfflineStoreError(f"{what} failed on Athena: it reported no UNLOAD manifest")
                table = self._read_manifest(s3, manifest)
            except BaseException:
                # The query's own error is what the caller needs; a failed clean-up must not replace it.
                with contextlib.suppress(Exception):
                    self._remove_output(s3, target, manifest)
                raise
        except OfflineStoreError:
            raise
        except Exception as error:  # pyathena's DB-API errors, botocore's and pyarrow's
            raise OfflineStoreError(f"{what} failed on Athena: {error}") from error
        try:
            self._remove_output(s3, target, manifest)
        except Exception as error:
            raise OfflineStoreError(f"{what}: removing the UNLOAD output {target} from S3 failed: {error}") from error
        return table

    def unload_exact(
        self, sql: str, columns: Sequence[str], timestamp_columns: Iterable[str], *, what: str
    ) -> pa.Table:
        """`unload` of `sql`'s `columns`, with the `timestamp_columns` carried exactly.

        UNLOAD writes through Athena's Hive writer, which takes timestamp(3) only: an Iceberg timestamp(6)
        column fails the UNLOAD ("Incorrect timestamp precision for timestamp(6); the configured precision is
        MILLISECONDS"), and a cast to timestamp(3) would round computed_at and event times. So each timestamp
        column is unloaded as Trino's text of it (`cast(ts as varchar)`, 'yyyy-mm-dd hh:mm:ss.ffffff' for a
        timestamp(6): https://trino.io/docs/current/language/types.html#timestamp-p) and parsed back to
        microseconds here. The sync's reader and the training sets both read through here. A query of no rows
        gives a table without columns, as `unload`."""
        exact = set(timestamp_columns)
        selected = ", ".join(
            f"cast({quote_identifier(name)} as varchar) as {quote_identifier(name)}"
            if name in exact
            else quote_identifier(name)
            for name in columns
        )
        table = self.unload(f"select {selected} from ({sql}) as exact_rows", what=what)
        for name in exact & set(table.column_names):
            index = table.column_names.index(name)
            try:
                table = table.set_column(index, name, pc.cast(table[name], pa.timestamp("us")))
            except pa.ArrowInvalid as error:
                raise OfflineStoreError(f"{what}: Athena returned a {name} that is no timestamp: {error}") from error
        return table

    def _connect(self) -> Any:
        from pyathena import connect

        options: dict[str, Any] = {"endpoint_url": self.location.endpoint_url} if self.location.endpoint_url else {}
        return connect(
            s3_staging_dir=self.location.s3_staging_dir,
            region_name=self.location.region,
            work_group=self.location.work_group,
            session=self.session,
            poll_interval=self.poll_interval,
            **options,
        )

    def _execute_unload(self, statement: str) -> str | None:
        """Run the UNLOAD; the S3 URI of its manifest (the list of files written)."""
        connection = self._connect()
        try:
            cursor = connection.cursor()
            cursor.execute(statement)
            manifest: str | None = cursor.data_manifest_location
            return manifest
        finally:
            connection.close()

    def _read_manifest(self, s3: Any, manifest: str) -> pa.Table:
        bucket, key = split_s3_uri(manifest)
        listed = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8").split()
        if not listed:  # UNLOAD of no rows writes no file
            return pa.table({})
        files = [uri[len("s3://") :] for uri in listed]
        return pq.ParquetDataset(
            files,
            filesystem=self._s3_filesystem(),
            # The file paths are ours (staging dir, uuid): a `key=value` folder in the staging dir is no column.
            partitioning=None,
            # Athena writes timestamps as Parquet INT96, which pyarrow would read as nanoseconds; Athena's are
            # at most microseconds, and microseconds give datetime values, as the DuckDB offline store does.
            coerce_int96_timestamp_unit="us",
        ).read(use_threads=True)

    def _remove_output(self, s3: Any, target: str, manifest: str | None) -> None:
        bucket, prefix = split_s3_uri(target)
        delete_prefix(s3, bucket, prefix)
        # Athena writes the manifest next to the query's results in the staging dir, not under the target.
        if manifest and not manifest.startswith(target):
            manifest_bucket, manifest_key = split_s3_uri(manifest)
            s3.delete_object(Bucket=manifest_bucket, Key=manifest_key)

    def _s3_filesystem(self) -> Any:
        """pyarrow's S3 filesystem with the session's credentials (and the stand-in's endpoint, if any)."""
        from pyarrow import fs

        options: dict[str, Any] = {"region": self.location.region}
        credentials = self.session.get_credentials()
        if credentials is not None:
            frozen = credentials.get_frozen_credentials()
            options.update(access_key=frozen.access_key, secret_key=frozen.secret_key, session_token=frozen.token)
        if self.location.endpoint_url:
            endpoint = urlparse(self.location.endpoint_url)
            options.update(endpoint_override=endpoint.netloc, scheme=endpoint.scheme or "https")
        return fs.S3FileSystem(**options)

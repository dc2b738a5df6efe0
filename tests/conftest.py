"""Shared pytest fixtures: a local moto server standing in for AWS, and a dbt runner pointed at it.

No AWS account is reachable from the test machines, yet `--target athena` must keep compiling (and later
running): dbt-athena talks to S3 and Glue even to compile, so the fixtures here fake exactly those on
127.0.0.1 and hand out an environment in which dbt, boto3 and pyathena only ever see the fake.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto.server import ThreadedMotoServer

from featurestore.aws.glue import RawTable, glue_table_input

PROJECT_DIR = Path(__file__).resolve().parents[1]
PROFILES_EXAMPLE = PROJECT_DIR / "profiles.example.yml"
SOURCES_YML = PROJECT_DIR / "models" / "staging" / "_news__sources.yml"
# The venv's own dbt, not whatever `dbt` is first on PATH (a global install may be another version).
DBT_EXECUTABLE = Path(sys.executable).parent / "dbt"

AWS_REGION = "us-east-1"
# Must match the defaults of profiles.example.yml: the adapter checks these exist before compiling.
ATHENA_RESULTS_BUCKET = "featurestore-athena-results"
DATA_BUCKET = "featurestore-data"
DEFAULT_RAW_SCHEMA = "news_raw"

# Variables that would let the developer's real environment leak into a test run: a real AWS profile or
# session token, a profiles dir with a real Athena target, another raw schema or dbt target.
_SCRUBBED_PREFIXES = ("AWS_", "DBT_", "FEATURESTORE_")
# Registered here, not in a config file, so `pytest --strict-markers` works whichever config is in use.
MARKERS = {
    "aws": "needs the moto server fixtures (local only, no real AWS)",
    "dbt": "invokes dbt (seconds per call)",
    "slow": "takes more than a few seconds",
}


def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")


@dataclasses.dataclass(frozen=True)
class MotoServer:
    """A running moto server and the environment that makes AWS clients use it."""

    endpoint_url: str
    # A complete environment for a subprocess (not an overlay): os.environ minus anything AWS/dbt/
    # featurestore-specific, plus dummy credentials, the region and AWS_ENDPOINT_URL.
    env: Mapping[str, str]
    region: str = AWS_REGION

    def client(self, service: str) -> Any:
        """A boto3 client for `service` on the fake, independent of os.environ (which tests don't touch)."""
        return boto3.client(
            # boto3-stubs types client() per literal service name; this helper takes any.
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
        )


@dataclasses.dataclass(frozen=True)
class AthenaEnv:
    """The fake AWS with the buckets and raw Glue tables in place, and the env to run dbt against it."""

    server: MotoServer
    env: Mapping[str, str]
    profiles_dir: Path
    raw_schema: str


@dataclasses.dataclass(frozen=True)
class DbtResult:
    args: Sequence[str]
    returncode: int
    # stdout and stderr interleaved, as a developer would see them.
    output: str
    target_path: Path
    log_path: Path
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def compiled_path(self) -> Path:
        return self.target_path / "compiled"

    def manifest(self) -> dict[str, Any]:
        manifest: dict[str, Any] = json.loads((self.target_path / "manifest.json").read_text())
        return manifest

    def describe(self) -> str:
        """The command and its output, for assertion messages."""
        return f"$ dbt {' '.join(self.args)}  ({self.seconds:.1f} s, exit {self.returncode})\n{self.output}"


def _scrubbed_environ() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith(_SCRUBBED_PREFIXES)}


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A moto server on 127.0.0.1 (never a wider address: it accepts any credentials) on a free port."""
    # The server logs every request through werkzeug at INFO, which would bury real failures' output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # Port 0 lets the OS pick a free port at bind time, so there is no window in which another process
    # could take a port we probed first.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint_url = f"http://{host}:{port}"
        aws_dir = tmp_path_factory.mktemp("aws")
        env = _scrubbed_environ()
        env.update(
            {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "AWS_REGION": AWS_REGION,
                "AWS_DEFAULT_REGION": AWS_REGION,
                "AWS_ENDPOINT_URL": endpoint_url,
                # Empty files: a developer's ~/.aws profile (e.g. a default role to assume) must not apply.
                "AWS_CONFIG_FILE": str(aws_dir / "config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(aws_dir / "credentials"),
                "AWS_EC2_METADATA_DISABLED": "true",
                # A corporate proxy would otherwise receive (and fail) the requests to the local server.
                "NO_PROXY": ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"])),
                "no_proxy": ",".join(filter(None, [os.environ.get("no_proxy"), "127.0.0.1", "localhost"])),
            }
        )
        (aws_dir / "config").touch()
        (aws_dir / "credentials").touch()
        _wait_until_listening(host, port)
        yield MotoServer(endpoint_url=endpoint_url, env=env)
    finally:
        server.stop()


def _wait_until_listening(host: str, port: int, timeout: float = 5.0) -> None:
    # start() returns once the socket is bound; a connect proves requests will be served.
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise


def raw_source_tables(sources_yml: Path = SOURCES_YML) -> dict[str, dict[str, str]]:
    """The raw source tables with their columns' Glue types, as the dbt sources file declares them."""
    document = yaml.safe_load(sources_yml.read_text())
    (source,) = (s for s in document["sources"] if s["name"] == "news")
    tables: dict[str, dict[str, str]] = {}
    for table in source["tables"]:
        columns = {}
        for column in table["columns"]:
            if "data_type" not in column:
                raise KeyError(f"{sources_yml}: column {table['name']}.{column['name']} has no data_type")
            columns[column["name"]] = column["data_type"]
        tables[table["name"]] = columns
    return tables


@pytest.fixture(scope="session")
def athena_env(moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> AthenaEnv:
    """What dbt-athena looks up before it compiles: the staging/data buckets and the raw Glue tables."""
    # The one FEATURESTORE_* setting honoured from the caller's shell: it only names the fake database.
    raw_schema = os.environ.get("FEATURESTORE_RAW_SCHEMA", DEFAULT_RAW_SCHEMA)
    s3 = moto_server.client("s3")
    for bucket in (ATHENA_RESULTS_BUCKET, DATA_BUCKET):
        s3.create_bucket(Bucket=bucket)
    glue = moto_server.client("glue")
    glue.create_database(DatabaseInput={"Name": raw_schema})
    for name, columns in raw_source_tables().items():
        table_input = glue_table_input(RawTable(name, columns), f"s3://{DATA_BUCKET}/raw/{name}/")
        glue.create_table(DatabaseName=raw_schema, TableInput=table_input)

    # Our own copy of the example profile: tests never read (or write .user.yml into) ~/.dbt or .dbt/.
    profiles_dir = tmp_path_factory.mktemp("dbt-profiles")
    shutil.copyfile(PROFILES_EXAMPLE, profiles_dir / "profiles.yml")
    env = dict(moto_server.env)
    env.update(
        {
            "DBT_PROFILES_DIR": str(profiles_dir),
            "FEATURESTORE_TARGET": "athena",
            "FEATURESTORE_RAW_SCHEMA": raw_schema,
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_USE_COLORS": "false",
        }
    )
    return AthenaEnv(server=moto_server, env=env, profiles_dir=profiles_dir, raw_schema=raw_schema)


@dataclasses.dataclass
class DbtInvocation:
    """A dbt subprocess that has been started; `wait()` for its result."""

    args: Sequence[str]
    process: subprocess.Popen[bytes]
    target_path: Path
    log_path: Path
    stdout_path: Path
    started: float

    def wait(self, timeout: float = 300) -> DbtResult:
        try:
            returncode = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        return DbtResult(
            args=self.args,
            returncode=returncode,
            output=self.stdout_path.read_text(errors="replace"),
            target_path=self.target_path,
            log_path=self.log_path,
            seconds=time.monotonic() - self.started,
        )


def start_dbt(
    args: Sequence[str],
    env: Mapping[str, str],
    work_dir: Path,
    project_dir: Path = PROJECT_DIR,
) -> DbtInvocation:
    """Starts `dbt <args>` for `project_dir`, writing its target/ and logs/ only under `work_dir`.

    dbt runs as a subprocess, not through the in-process dbtRunner: dbt keeps global state between
    invocations (flags, the adapter registry and its connections, the invocation context's snapshot of
    the environment), and dbt-athena builds its boto3 sessions from the environment. Switching between
    the local and athena targets, or between servers, inside one pytest process would mean mutating
    os.environ under every other test. A process start costs ~2 s against a ~12 s athena compile (parsing
    dominates), a price worth paying for runs that cannot see each other or the developer's shell; and
    separate processes can run concurrently, which dbtRunner cannot.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    target_path = work_dir / "target"
    log_path = work_dir / "logs"
    full_args = [
        *args,
        "--project-dir",
        str(project_dir),
        # Never the project's own target/: the local DuckDB build and its partial-parse state live there.
        "--target-path",
        str(target_path),
        "--log-path",
        str(log_path),
        # Parse from scratch: a fresh target path has no state to reuse, and this guarantees none is read.
        "--no-partial-parse",
    ]
    # A file, not a pipe: a pipe nobody drains while waiting on another process can fill and stall dbt.
    stdout_path = work_dir / "dbt.out"
    with stdout_path.open("wb") as stdout:
        process = subprocess.Popen(
            [str(DBT_EXECUTABLE), *full_args],
            cwd=project_dir,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT,
        )
    return DbtInvocation(
        args=full_args,
        process=process,
        target_path=target_path,
        log_path=log_path,
        stdout_path=stdout_path,
        started=time.monotonic(),
    )


def run_dbt(
    args: Sequence[str],
    env: Mapping[str, str],
    work_dir: Path,
    project_dir: Path = PROJECT_DIR,
    timeout: float = 300,
) -> DbtResult:
    """Runs `dbt <args>` to completion; see `start_dbt`."""
    return start_dbt(args, env, work_dir, project_dir).wait(timeout)


@dataclasses.dataclass(frozen=True)
class Dbt:
    """dbt bound to an environment; handed out by fixtures so test modules need not import conftest
    (which breaks under pytest's importlib import mode)."""

    env: Mapping[str, str]
    project_dir: Path = PROJECT_DIR

    def start(self, args: Sequence[str], work_dir: Path, project_dir: Path | None = None) -> DbtInvocation:
        return start_dbt(args, self.env, work_dir, project_dir or self.project_dir)

    def run(
        self, args: Sequence[str], work_dir: Path, project_dir: Path | None = None, timeout: float = 300
    ) -> DbtResult:
        return self.start(args, work_dir, project_dir).wait(timeout)


@pytest.fixture(scope="session")
def athena_dbt(athena_env: AthenaEnv) -> Dbt:
    """dbt against the moto-backed Athena environment; pass `--target athena` in the args."""
    return Dbt(env=athena_env.env)


@dataclasses.dataclass(frozen=True)
class Dynalite:
    """A running dynalite (DynamoDB on LevelDB, in memory) on 127.0.0.1."""

    endpoint_url: str
    region: str = AWS_REGION

    def client(self, **config: Any) -> Any:
        from botocore.config import Config

        return boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, **config),
        )


DYNALITE_PACKAGE = PROJECT_DIR / "node_modules" / "dynalite"
DYNALITE_SERVER = PROJECT_DIR / "tests" / "support" / "dynalite_server.js"


@pytest.fixture(scope="session")
def dynalite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dynalite]:
    """dynalite on a loopback port the OS picks, in memory, killed at teardown (`make setup` installs it)."""
    if not DYNALITE_PACKAGE.is_dir():
        pytest.fail(f"{DYNALITE_PACKAGE} is missing; run `make setup` (npm ci installs it from package-lock.json)")
    log_path = tmp_path_factory.mktemp("dynalite") / "dynalite.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["node", str(DYNALITE_SERVER)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, text=True
        )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().split()
        if first[:1] != ["listening"]:
            pytest.fail(f"dynalite did not start: {first} {log_path.read_text()[-2000:]}")
        port = int(first[1])
        _wait_until_listening("127.0.0.1", port, timeout=20)
        yield Dynalite(endpoint_url=f"http://127.0.0.1:{port}")
        if process.poll() is not None:
            pytest.fail(f"dynalite exited during the tests ({process.returncode}): {log_path.read_text()[-2000:]}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

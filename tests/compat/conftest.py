"""Fixtures for the compatibility suite: one real `tern` process per pytest session, boto3 clients
pointed at it, unique queue names.

The client flavour is whichever boto3/botocore the running interpreter has: scripts/test runs the
same files once from .venv-current (botocore's SQS model says "json") and once from .venv-query
(botocore 1.31.80, whose SQS model says "query"). TERN_COMPAT_EXPECT_PROTOCOL, set by
scripts/test, names the protocol the run is meant to exercise; test_sqs_protocol.py checks that
it is the one the model declares and the one seen on the wire.
"""

from __future__ import annotations

import os
import pathlib
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import uuid

import boto3
import botocore
import pytest
from botocore.config import Config

from compat_support import PROTOCOL

COMPAT_DIR = pathlib.Path(__file__).resolve().parent
REPO_ROOT = COMPAT_DIR.parent.parent
TERN_BIN = pathlib.Path(os.environ.get("TERN_BIN", REPO_ROOT / "target" / "debug" / "tern"))

ACCOUNT_ID = "000000000000"
REGION = "us-east-1"
STARTUP_TIMEOUT_S = 30
SHUTDOWN_TIMEOUT_S = 15
LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")

EXPECTED_PROTOCOL = os.environ.get("TERN_COMPAT_EXPECT_PROTOCOL")


def pytest_report_header(config):
    return [
        f"tern compat flavour: boto3 {boto3.__version__}, botocore {botocore.__version__}, "
        f"SQS protocol {PROTOCOL!r} (expected: {EXPECTED_PROTOCOL or 'not set'})",
        f"tern binary: {TERN_BIN}",
    ]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true a skip is a failure: nothing in this suite may be skipped silently there."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which this suite does not allow: {report.longrepr}"


class TernServer:
    """A `tern serve` child on an ephemeral 127.0.0.1 port with its own data directory."""

    def __init__(self, binary: pathlib.Path, workdir: pathlib.Path):
        self.data_dir = workdir / "data"
        self.log_path = workdir / "tern.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [str(binary), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(self.data_dir)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
        )
        lines: queue.Queue[bytes] = queue.Queue()

        def pump():
            # Keeps reading stdout for the whole run so the child never blocks on a full pipe.
            for line in self.process.stdout:
                lines.put(line)
            lines.put(b"")

        threading.Thread(target=pump, name="tern-stdout", daemon=True).start()
        try:
            first = lines.get(timeout=STARTUP_TIMEOUT_S)
        except queue.Empty:
            self.stop()
            raise RuntimeError(f"tern printed nothing within {STARTUP_TIMEOUT_S}s; log:\n{self.log()}")
        match = LISTENING.search(first.decode("utf-8", "replace"))
        if not match:
            self.stop()
            raise RuntimeError(f"unexpected first line from tern: {first!r}; log:\n{self.log()}")
        self.endpoint = match.group(1)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text("utf-8", "replace")[-4000:]

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it has not exited in time. Returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=SHUTDOWN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=SHUTDOWN_TIMEOUT_S)
        self._log.close()
        return self.process.returncode

    def queue_url(self, name: str) -> str:
        return f"{self.endpoint}/{ACCOUNT_ID}/{name}"


@pytest.fixture(scope="session")
def tern():
    if not TERN_BIN.is_file():
        pytest.fail(f"{TERN_BIN} is missing: build it with `cargo build -p tern` or set TERN_BIN")
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="tern-compat-"))
    server = TernServer(TERN_BIN, workdir)
    try:
        yield server
    finally:
        crashed = server.process.poll() is not None
        status = server.stop()
        log = server.log_path.read_text("utf-8", "replace")[-4000:]
        shutil.rmtree(workdir, ignore_errors=True)
    if crashed:
        pytest.fail(f"tern exited during the run with status {status}; log tail:\n{log}")
    if status not in (0, -signal.SIGTERM):
        pytest.fail(f"tern stopped with status {status} after SIGTERM; log tail:\n{log}")


def make_client(endpoint: str, **config):
    """A boto3 SQS client for Tern: dummy credentials, no retries (they would hide errors), and a
    read timeout above the longest long poll."""
    base = dict(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
    )
    base.update(config)
    return boto3.session.Session().client(
        "sqs",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="AKIDTERNCOMPAT",
        aws_secret_access_key="compat-secret",
        config=Config(**base),
    )


class WireLog:
    """Every request the client sent and every raw response it got, recorded by event hooks."""

    def __init__(self, client):
        self.requests: list[dict] = []
        self.responses: list[dict] = []
        client.meta.events.register("before-send.sqs", self._on_send)
        client.meta.events.register("after-call.sqs", self._on_after_call)

    def _on_send(self, request, **kwargs):
        body = request.body
        if hasattr(body, "read"):
            body = None  # streaming bodies are not used by SQS
        elif isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        self.requests.append(
            {
                "url": request.url,
                "headers": {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()},
                "body": body or "",
            }
        )
        return None  # let botocore send it

    def _on_after_call(self, http_response, model, **kwargs):
        self.responses.append(
            {
                "operation": model.name,
                "status": http_response.status_code,
                "headers": {k.lower(): v for k, v in http_response.headers.items()},
                "body": http_response.content.decode("utf-8", "replace"),
            }
        )


@pytest.fixture
def sqs(tern):
    return make_client(tern.endpoint)


@pytest.fixture
def unvalidated_sqs(tern):
    """A client that skips botocore's own parameter checks, so Tern's validation answers."""
    return make_client(tern.endpoint, parameter_validation=False)


@pytest.fixture
def wire(sqs):
    return WireLog(sqs)


@pytest.fixture
def queue_name(request):
    """A queue name unique to this test and run (names are at most 80 characters)."""
    test = re.sub(r"[^A-Za-z0-9_-]", "-", request.node.name)[:40]
    return f"c{PROTOCOL[0]}-{test}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def queue_url(sqs, queue_name):
    return sqs.create_queue(QueueName=queue_name)["QueueUrl"]

"""Fixtures for the compatibility suite: one real `tern` process per pytest session, boto3 SQS and
SNS clients pointed at it (same port), unique queue and topic names; and, for the Step Functions
files (`test_sfn_*.py`), a second `tern` started with `--time-scale 0.01` and its own data
directory, with Step Functions, SQS and SNS clients pointed at it.

The client flavour is whichever boto3/botocore the running interpreter has: scripts/test runs the
same files once from .venv-current (botocore's SQS model says "json") and once from .venv-query
(botocore 1.31.80, whose SQS model says "query"). TERN_COMPAT_EXPECT_PROTOCOL, set by
scripts/test, names the protocol the run is meant to exercise; test_sqs_protocol.py checks that
it is the one the model declares and the one seen on the wire. SNS speaks the Query protocol in
both flavours (botocore's SNS model says "query"); test_sns_topics.py checks that on the wire.
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

from compat_support import PROTOCOL, SFN_MODEL, SNS_PROTOCOL, queue_arn, sfn_operations_not_modelled

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
        f"SQS protocol {PROTOCOL!r} (expected: {EXPECTED_PROTOCOL or 'not set'}), "
        f"SNS protocol {SNS_PROTOCOL!r}, Step Functions {SFN_MODEL.api_version} ({SFN_MODEL.protocol}); "
        f"operations this model lacks, whose tests are not collected: "
        f"{', '.join(sfn_operations_not_modelled('RedriveExecution', 'ValidateStateMachineDefinition')) or 'none'}",
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

    def __init__(self, binary: pathlib.Path, workdir: pathlib.Path, extra_args: tuple[str, ...] = ()):
        self.data_dir = workdir / "data"
        self.log_path = workdir / "tern.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [str(binary), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(self.data_dir), *extra_args],
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


def _serve(*extra_args: str):
    """Runs one `tern serve` for a session fixture: yields it, then stops it and fails the run if
    it crashed or did not stop cleanly on SIGTERM."""
    if not TERN_BIN.is_file():
        pytest.fail(f"{TERN_BIN} is missing: build it with `cargo build -p tern` or set TERN_BIN")
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="tern-compat-"))
    server = TernServer(TERN_BIN, workdir, extra_args)
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


@pytest.fixture(scope="session")
def tern():
    yield from _serve()


def make_client(endpoint: str, service: str = "sqs", *, region: str = REGION, **config):
    """A boto3 client (SQS unless `service` says otherwise) for Tern: dummy credentials, no
    retries (they would hide errors), and a read timeout above the longest long poll."""
    base = dict(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
    )
    base.update(config)
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="AKIDTERNCOMPAT",
        aws_secret_access_key="compat-secret",
        config=Config(**base),
    )


class WireLog:
    """Every request the client sent and every raw response it got, recorded by event hooks."""

    def __init__(self, client):
        self.requests: list[dict] = []
        self.responses: list[dict] = []
        service = client.meta.service_model.service_id.hyphenize()  # "sqs" or "sns"
        client.meta.events.register(f"before-send.{service}", self._on_send)
        client.meta.events.register(f"after-call.{service}", self._on_after_call)

    def _on_send(self, request, **kwargs):
        body = request.body
        if hasattr(body, "read"):
            body = None  # streaming bodies are not used by SQS or SNS
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


# ---- SNS ------------------------------------------------------------------------------------


@pytest.fixture
def sns(tern):
    return make_client(tern.endpoint, "sns")


@pytest.fixture
def unvalidated_sns(tern):
    """An SNS client that skips botocore's own parameter checks, so Tern's validation answers."""
    return make_client(tern.endpoint, "sns", parameter_validation=False)


@pytest.fixture
def sns_wire(sns):
    return WireLog(sns)


def _unique(request, prefix: str, length: int = 40) -> str:
    test = re.sub(r"[^A-Za-z0-9_-]", "-", request.node.name)[:length]
    return f"{prefix}{PROTOCOL[0]}-{test}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def topic_name(request):
    """A topic name unique to this test and run (names are at most 256 characters; a FIFO
    topic's name is this plus `.fifo`)."""
    return _unique(request, "t")


@pytest.fixture
def topic_arn(sns, topic_name):
    """A standard topic, created for this test."""
    return sns.create_topic(Name=topic_name)["TopicArn"]


class Queue:
    """A queue made for a test: its URL, ARN and name."""

    def __init__(self, url: str, arn: str, name: str):
        self.url = url
        self.arn = arn
        self.name = name

    def __repr__(self):
        return f"Queue({self.name})"


@pytest.fixture
def new_queue(sqs, request):
    """Makes queues for a subscription test: new_queue("red") or new_queue("g", fifo=True)."""
    made = 0

    def make(label: str = "q", *, fifo: bool = False, attributes: dict | None = None) -> Queue:
        nonlocal made
        made += 1
        name = _unique(request, f"s{made}{label[:12]}", 30)
        attributes = dict(attributes or {})
        if fifo:
            name += ".fifo"
            attributes["FifoQueue"] = "true"
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        return Queue(url, queue_arn(sqs, url), name)

    return make


# ---- Step Functions -------------------------------------------------------------------------

# Every delay a state machine waits out (Wait states, Retry intervals, TimeoutSeconds,
# HeartbeatSeconds) is multiplied by this on the Step Functions server, so a `"Seconds": 100`
# Wait takes one second. History timestamps stay real.
SFN_TIME_SCALE = "0.01"
# GetActivityTask long-polls for up to 60 s: the client must wait longer than that.
SFN_READ_TIMEOUT_S = 75
SFN_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/StepFunctionsCompat"


@pytest.fixture(scope="session")
def sfn_tern():
    """A second `tern serve` for the Step Functions files, started with `--time-scale` (the
    session `tern` takes no flags, and the SQS/SNS files want real time), its own port and data
    directory. Queues and topics the machines send to live on this server too."""
    yield from _serve("--time-scale", SFN_TIME_SCALE)


def make_sfn_client(endpoint: str, *, region: str = REGION, **config):
    """A boto3 Step Functions client for Tern (`region` picks the ARNs' region, and which
    machines and activities the List actions see)."""
    config.setdefault("read_timeout", SFN_READ_TIMEOUT_S)
    return make_client(endpoint, "stepfunctions", region=region, **config)


@pytest.fixture
def sfn(sfn_tern):
    return make_sfn_client(sfn_tern.endpoint)


@pytest.fixture
def unvalidated_sfn(sfn_tern):
    """A Step Functions client that skips botocore's own parameter checks, so Tern answers."""
    return make_sfn_client(sfn_tern.endpoint, parameter_validation=False)


@pytest.fixture
def sfn_wire(sfn):
    return WireLog(sfn)


@pytest.fixture
def sfn_sqs(sfn_tern):
    """SQS on the Step Functions server (the queues its machines send to)."""
    return make_client(sfn_tern.endpoint)


@pytest.fixture
def sfn_sns(sfn_tern):
    return make_client(sfn_tern.endpoint, "sns")


@pytest.fixture
def sfn_name(request):
    """Makes names unique to this test and run: sfn_name("m") → "m-<test>-<random>" (state
    machine, execution and activity names are at most 80 characters)."""

    def make(prefix: str = "m") -> str:
        return _unique(request, f"{prefix[:8]}-", 40)

    return make


@pytest.fixture
def sfn_queue(sfn_sqs, request):
    """Makes a queue on the Step Functions server: sfn_queue("tokens") → Queue."""
    made = 0

    def make(label: str = "q") -> Queue:
        nonlocal made
        made += 1
        name = _unique(request, f"f{made}{label[:12]}", 30)
        url = sfn_sqs.create_queue(QueueName=name)["QueueUrl"]
        return Queue(url, queue_arn(sfn_sqs, url), name)

    return make

"""Helpers for the reliability tests: a local S3 server, killing a `dvc repro` mid-stage, file snapshots."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from e2e_project import BIN

S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
          "AWS_DEFAULT_REGION": "us-east-1"}


def free_port() -> int:
    """A port nobody listens on right now (bound on loopback only)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def moto_s3(bucket: str) -> Iterator[str]:
    """A real S3-compatible HTTP server on 127.0.0.1 holding `bucket`; yields its endpoint URL, always stopped."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        url = f"http://127.0.0.1:{port}"
        boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                     aws_secret_access_key="testing").create_bucket(Bucket=bucket)
        yield url
    finally:
        server.stop()


def list_keys(endpoint: str, bucket: str) -> list[str]:
    """Every object key in `bucket` (what `dvc push` really uploaded)."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return keys


def repro_env() -> dict[str, str]:
    """The environment `e2e_project.run` gives its commands, for a Popen we control ourselves."""
    return {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1",
            "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}


def wait_for(condition: Callable[[], bool], timeout: float, what: str, alive: subprocess.Popen | None = None) -> None:
    """Poll until `condition()` holds; fail after `timeout` seconds or if `alive` exits first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if alive is not None and alive.poll() is not None:
            raise AssertionError(f"process exited ({alive.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


def group_alive(pgid: int) -> bool:
    """Whether any process of the group is still running (zombies of our own child are reaped by Popen.wait)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def terminate_group(proc: subprocess.Popen, timeout: float = 120) -> None:
    """SIGTERM the whole process group (dvc, accelerate and the stage), then wait until every member is gone.

    The stage may outlive dvc while it saves its checkpoint, so waiting on `proc` alone is not enough.
    SIGKILL only if the group overruns `timeout`, so a hung stage never outlives the test.
    """
    pgid = proc.pid  # started with start_new_session=True: the leader's pid is the group id
    with contextlib.suppress(ProcessLookupError):  # the group may already be gone (the stage failed early)
        os.killpg(pgid, signal.SIGTERM)
    proc.wait(timeout=timeout)
    deadline = time.monotonic() + timeout
    while group_alive(pgid):
        if time.monotonic() > deadline:
            os.killpg(pgid, signal.SIGKILL)
            raise AssertionError("stage still running after SIGTERM")
        time.sleep(0.2)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(root: Path, rels: list[str]) -> dict[str, bytes]:
    """The bytes of each file, to compare one run with the next."""
    return {rel: (root / rel).read_bytes() for rel in rels}


def flatten(obj: object, prefix: str = "") -> dict[str, object]:
    """Nested JSON as {"a.b.0": leaf}, so metrics with nested sections compare key by key with pytest.approx."""
    if isinstance(obj, dict):
        return {k: v for key, val in obj.items() for k, v in flatten(val, f"{prefix}{key}.").items()}
    if isinstance(obj, list):
        return {k: v for i, val in enumerate(obj) for k, v in flatten(val, f"{prefix}{i}.").items()}
    return {prefix.rstrip("."): obj}

"""A real shared remote: `dvc push` the tiny pipeline to a local S3 server (moto), clone, `dvc pull`, nothing reruns."""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "voc-remote"
S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
          "AWS_DEFAULT_REGION": "us-east-1"}

# checkpoints/sft is a declared `cache: false` output but /checkpoints/ is git-ignored, so neither git nor the
# remote carries it: a clone sees the sft stage as changed and `dvc repro` would retrain it. This xfail is strict
# and keyed on dvc.yaml, so the test runs for real once the checkpoints stop being a declared output.
_SFT_OUTS = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]["sft"]["outs"]
CHECKPOINTS_UNSHARED = any(o == "checkpoints/sft" or (isinstance(o, dict) and "checkpoints/sft" in o)
                           for o in _SFT_OUTS)
METRICS = ["metrics/summary.json", "metrics/voc_sft.json", "metrics/mmlu_sft.json", "metrics/sft/train_stats.json"]


def _free_port() -> int:
    """A port nobody listens on right now (bound on loopback only)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _moto_s3(bucket: str) -> Iterator[str]:
    """A real S3-compatible HTTP server on 127.0.0.1 holding `bucket`; yields its endpoint URL, always stopped."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        url = f"http://127.0.0.1:{port}"
        boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                     aws_secret_access_key="testing").create_bucket(Bucket=bucket)
        yield url
    finally:
        server.stop()


def _list_keys(endpoint: str, bucket: str) -> list[str]:
    """Every object key in `bucket` (what `dvc push` really uploaded)."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return keys


@pytest.fixture(scope="module")
def pushed(tmp_path_factory, tiny_model_dir, make_project, run):
    """The tiny project reproduced, committed and pushed to S3; yields (project, clone, endpoint)."""
    with pytest.MonkeyPatch.context() as mp, _moto_s3(BUCKET) as endpoint:
        for key, value in S3_ENV.items():
            mp.setenv(key, value)
        proj = make_project(tmp_path_factory.mktemp("s3src"), tiny_model_dir)
        run(["dvc", "repro"], proj)
        run(["dvc", "remote", "add", "-d", "storage", f"s3://{BUCKET}/cache"], proj)
        run(["dvc", "remote", "modify", "storage", "endpointurl", endpoint], proj)
        run(["git", "add", "-A"], proj)
        run(["git", "commit", "-qm", "repro + remote"], proj)
        run(["dvc", "push"], proj)
        clone = tmp_path_factory.mktemp("s3clone") / "proj"
        run(["git", "clone", "-q", str(proj), str(clone)], tmp_path_factory.getbasetemp())
        yield proj, clone, endpoint


def test_push_uploads_the_cached_outputs(pushed):
    proj, _, endpoint = pushed
    keys = _list_keys(endpoint, BUCKET)
    assert keys and all(k.startswith("cache/files/md5/") for k in keys)
    weights = proj / "models/sft/model.safetensors"
    # The remote is content-addressed, so the SFT weights must be there under their own md5.
    md5 = hashlib.md5(weights.read_bytes()).hexdigest()
    assert f"cache/files/md5/{md5[:2]}/{md5[2:]}" in keys


def test_clone_pulls_every_cached_output(pushed, run):
    proj, clone, _ = pushed
    assert not (clone / "models/sft").exists()  # only git content came with the clone
    config = (clone / ".dvc/config").read_text()
    assert f"s3://{BUCKET}/cache" in config  # the remote travelled with git
    run(["dvc", "pull"], clone)
    for rel in ("models/sft/model.safetensors", "models/base/model.safetensors", "data/mixed/train_clean.jsonl",
                "data/prepared/voc/test.jsonl", "data/replay/replay.jsonl"):
        assert (clone / rel).read_bytes() == (proj / rel).read_bytes(), rel
    for rel in METRICS:
        assert (clone / rel).read_bytes() == (proj / rel).read_bytes(), rel


@pytest.mark.xfail(CHECKPOINTS_UNSHARED, strict=True, reason="checkpoints/sft: declared output carried by neither "
                   "git nor the remote, so a clone would rerun sft")
def test_clone_is_up_to_date_and_nothing_reruns(pushed, run, ran_stages):
    _, clone, _ = pushed
    run(["dvc", "pull"], clone)
    status = run(["dvc", "status", "--json"], clone)
    assert json.loads(status.stdout) == {}
    dry = run(["dvc", "repro", "--dry"], clone)
    assert ran_stages(dry.stdout) == set()

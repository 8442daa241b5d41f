"""Fixtures for the whole-pipeline tests: a temp copy of the repo configured for the tiny model, so the real
`dvc repro` runs in ~2 minutes, and the commands that drive it."""

from __future__ import annotations

import functools
import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures"
BIN = Path(sys.executable).parent

PHRASES = {
    ("App", "Login", "Password reset"): ["I could not reset my password", "the reset link never arrived"],
    ("App", "Login", "Two-factor"): ["the login code comes too late", "two-factor codes fail every time"],
    ("App", "Alerts", "Motion"): ["motion alerts arrive a minute late", "alerts fire for every passing car"],
    ("Hardware", "Night vision", "Infrared"): ["night vision is blurry", "the infrared image is very clear"],
    ("Hardware", "Power", "Battery"): ["the battery lasts two weeks", "the battery drains in a day"],
    ("Delivery", "Shipping", "Late"): ["the parcel came a week late", "delivery was slower than promised"],
}


def _tiny_comments(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    leaves = list(PHRASES)
    rows = []
    for i in range(n):
        segs = []
        for leaf in rng.sample(leaves, rng.randint(1, 2)):
            content = f"{rng.choice(PHRASES[leaf])} ({i})."
            segs.append({"content": content, "L1": leaf[0], "L2": leaf[1], "L3": leaf[2],
                         "emotion": rng.choice(["positive", "negative", "neutral"])})
        rows.append({"id": f"t{i:03d}", "text": " ".join(s["content"] for s in segs), "segments": segs})
    return rows


def _tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    return [f for f in out.splitlines() if (ROOT / f).is_file()]


def _env() -> dict[str, str]:
    """The venv's `dvc` and `voc` first on PATH, offline, no telemetry: what every pipeline command runs under."""
    return {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1",
            "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}


def _run(cmd: list[str], cwd: Path, check: bool = True, timeout: int = 900) -> subprocess.CompletedProcess:
    res = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"{cmd} failed ({res.returncode}):\n{res.stdout[-4000:]}\n{res.stderr[-4000:]}")
    return res


def _make_project(dest: Path, model_dir: Path, write_tasks: Callable[[Path], None]) -> Path:
    """Copy the repo, write tiny data and a tiny params.yaml, and commit it in a fresh git repo."""
    for f in _tracked_files():
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, dest / f)
    for d in ("metrics", "models"):
        shutil.rmtree(dest / d, ignore_errors=True)
    (dest / "dvc.lock").unlink(missing_ok=True)
    raw = dest / "data/raw/tiny"
    raw.mkdir(parents=True)
    shutil.copy(FIX / "bad_input/taxonomy.csv", raw / "taxonomy.csv")
    (raw / "comments.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _tiny_comments(24)))
    alpaca = [{"instruction": f"Add {i} and {i + 2}.", "input": "", "output": f"{i} + {i + 2} = {2 * i + 2}."}
              for i in range(10)]
    (raw / "alpaca.jsonl").write_text("".join(json.dumps(r) + "\n" for r in alpaca))
    write_tasks(dest / "tiny_tasks")
    p = yaml.safe_load((ROOT / "params.yaml").read_text())
    p["model"].update(source=str(model_dir), sha256=None)
    p["mmlu"].update(source=str(FIX / "evals/mmlu_csv"), sha256=None, limit_per_subject=2, batch_size=4)
    p["tasks"].update(source=str(dest / "tiny_tasks"), sha256=None, names=["arc_easy", "boolq"], limit=4,
                      batch_size=4)
    p["data"].update(taxonomy="data/raw/tiny/taxonomy.csv", comments="data/raw/tiny/comments.jsonl")
    p["prepare"]["test_size"] = 0.25
    p["replay"]["generate"].update(limit=6, max_new_tokens=8, batch_size=8)
    # The random tiny model answers the replay prompts with nothing, and an empty replay source is an error
    # (its share cannot be drawn), so the tiny run mixes in a small instruction set instead.
    p["replay"]["sources"] = [{"name": "alpaca", "kind": "json", "path": "data/raw/tiny/alpaca.jsonl",
                               "weight": 1.0}]
    p["sft"].update(accelerate_config="configs/accelerate/cpu.yaml", max_steps=4, batch_size=2, max_length=1024,
                    save_steps=2, logging_steps=1, lr=1e-3)
    p["eval"].update(max_new_tokens=24, batch_size=8)
    p["probe"].update(max_new_tokens=8)
    (dest / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
    for cmd in (["git", "init", "-q", "-b", "main"], ["git", "config", "user.email", "t@t"],
                ["git", "config", "user.name", "t"], ["git", "add", "-A"], ["git", "commit", "-qm", "tiny"]):
        _run(cmd, dest)
    return dest


def _ran_stages(output: str) -> set[str]:
    return {line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")}


@pytest.fixture(scope="session")
def repro_env() -> dict[str, str]:
    """The environment `run` gives its commands, for a Popen a test controls itself."""
    return _env()


@pytest.fixture(scope="session")
def run() -> Callable[..., subprocess.CompletedProcess]:
    """`run(cmd, cwd, check=True, timeout=900)`: a pipeline command; a failure raises with its output's tail."""
    return _run


@pytest.fixture(scope="session")
def ran_stages() -> Callable[[str], set[str]]:
    """`ran_stages(stdout)`: the stage names that `dvc repro` / `dvc exp run` actually executed."""
    return _ran_stages


@pytest.fixture(scope="session")
def make_project(write_tiny_tasks) -> Callable[[Path, Path], Path]:
    """`make_project(dest, model_dir)`: the tiny project in `dest`, committed in its own git repo."""
    return functools.partial(_make_project, write_tasks=write_tiny_tasks)

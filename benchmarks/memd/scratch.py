"""Scratch workspace for the MEMD-ABSA benchmark: convert, subsample, and copy the project so that nothing the
benchmark runs touches the main workspace's outputs (metrics/, models/, dvc.lock, experiments)."""

from __future__ import annotations

import copy
import io
import os
import random
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path

import yaml

from voc.core.files import read_json, read_jsonl, write_jsonl

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"          # ../shared: real public data, read in place, never copied into the repo
MEMD = "data/memd_absa/MEMD_ABSA_Dataset"
DOMAINS = ("Books", "Clothing", "Hotel", "Laptop", "Restaurant")
BIN = Path(sys.executable).parent


def tool_env(cwd: Path) -> dict[str, str]:
    """The venv's tools first on PATH (dvc runs `python`/`accelerate` from it), `voc` imported from `cwd` (the
    scratch copy, not the editable install of the main checkout) before any PYTHONPATH already set (carried
    wheels on a device), offline hub, no analytics."""
    pythonpath = os.pathsep.join(p for p in (str(cwd), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}", "PYTHONPATH": pythonpath,
            "DVC_NO_ANALYTICS": "1", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}


def sh(cmd: Sequence[str], cwd: Path, log: Path | None = None) -> str:
    """Run a command; keep its output in `log` (appended) and fail loudly with the tail of it."""
    res = subprocess.run(list(cmd), cwd=cwd, env=tool_env(cwd), capture_output=True, text=True)
    if log is not None:
        with log.open("a", encoding="utf-8") as f:
            f.write(f"$ {' '.join(cmd)}\n{res.stdout}{res.stderr}\n")
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}) in {cwd}:\n{res.stdout[-3000:]}\n"
                           f"{res.stderr[-3000:]}")
    return res.stdout


def convert(domains: Sequence[str], out: Path, log: Path, shared: Path = SHARED) -> dict:
    """`voc import --format memd` on each domain folder; the folder name is the L1 label."""
    folders = [str(shared / MEMD / d) for d in domains]
    cmd = [sys.executable, "-m", "voc.cli", "import", "--format", "memd", *folders, "-o", str(out)]
    if len(domains) == 1:
        cmd += ["--domain", domains[0]]
    sh(cmd, ROOT, log)
    return read_json(out / "import_report.json")


def split_sample(rows: list[dict], sample: dict | None) -> tuple[list[dict], list[dict], dict]:
    """Train = MEMD Train + Dev, test = MEMD Test; optionally a seeded subsample of each (recorded)."""
    train = [r for r in rows if r.get("split") in ("train", "dev")]
    test = [r for r in rows if r.get("split") == "test"]
    info = {"available": {"train": len(train), "test": len(test)}, "seed": None}
    if sample:
        rng = random.Random(int(sample["seed"]))
        train = rng.sample(train, min(int(sample["train"]), len(train)))
        test = rng.sample(test, min(int(sample["test"]), len(test)))
        info["seed"] = int(sample["seed"])
    info["used"] = {"train": len(train), "test": len(test)}
    info["test_ids"] = sorted(r["id"] for r in test)
    return train, test, info


def deep_merge(base: dict, over: dict) -> dict:
    """`over` wins; nested dicts merge key by key (lists and scalars are replaced)."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def resolve_sources(sources: list[dict], shared: Path = SHARED) -> list[dict]:
    """Paths outside the project (`../shared/...`) become absolute, so the scratch copy reads them in place."""
    out = []
    for src in sources:
        src = dict(src)
        path = str(src.get("path", ""))
        if path.startswith("../shared/"):
            src["path"] = str((shared / path[len("../shared/"):]).resolve())
        elif path.startswith("../"):
            src["path"] = str((ROOT / path).resolve())
        out.append(src)
    return out


def profile_params(bench: dict, profile: str, model: str | None) -> dict:
    """The project's params.yaml with the benchmark's common and profile overrides (and an optional model dir)."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params = deep_merge(params, bench.get("common") or {})
    params = deep_merge(params, bench["profiles"][profile].get("params") or {})
    if model:
        params["model"].update(source=str(Path(model).resolve()), sha256=None)
    return params


def run_alpha(run: dict) -> float:
    """A run's merge.alpha: 1 (the fine-tuned model itself) unless the run sets `alpha`."""
    return float(run.get("alpha", 1.0))


def run_params(base: dict, bench: dict, run: dict, shared: Path = SHARED) -> dict:
    """One run's params: mix, SFT method, replay source series, and the forgetting controls a run may set:
    `alpha` (merge.alpha, default 1 = the fine-tuned model), `freeze` (over sft.freeze) and `params` (any other
    overrides, merged last). A source series with a `synth` source also sets replay.synth from the benchmark's
    `synth` block, so only those runs synthesise."""
    p = copy.deepcopy(base)
    p["mix"] = float(run["mix"])
    p["sft"]["method"] = run["method"]
    p["merge"]["alpha"] = run_alpha(run)
    p["sft"]["freeze"] = deep_merge(p["sft"].get("freeze") or {}, run.get("freeze") or {})
    p["replay"]["sources"] = resolve_sources(bench["sources"][run["source"]], shared)
    if any(src.get("kind") == "synth" for src in p["replay"]["sources"]):
        p["replay"]["synth"] = copy.deepcopy(bench["synth"])
    ifeval = p["probe"].get("ifeval") or {}
    if ifeval.get("source"):  # IFEval from ../shared is read in place too
        ifeval["source"] = resolve_sources([{"path": ifeval["source"]}], shared)[0]["path"]
    return deep_merge(p, run.get("params") or {})  # a run's own overrides, e.g. a longer-example budget


def copy_files(dest: Path) -> None:
    """Without git (a device's copy of the working tree): the code, configs and data/raw, not outputs or caches."""
    skip = {"benchmarks", "models", "checkpoints", "metrics", "dvclive", "data"}

    def ignore(folder: str, names: list[str]) -> list[str]:
        top = Path(folder) == ROOT
        return [n for n in names if n == "__pycache__" or n.endswith(".egg-info")
                or (top and (n in skip or (n.startswith(".") and n != ".dvcignore")))]

    shutil.copytree(ROOT, dest, ignore=ignore, dirs_exist_ok=True)
    shutil.copytree(ROOT / "data/raw", dest / "data/raw")
    shutil.copytree(ROOT / ".dvc", dest / ".dvc", ignore=shutil.ignore_patterns("cache", "tmp"))


def copy_project(dest: Path, mode: str) -> None:
    """`head`: the committed tree at HEAD (a coherent snapshot while others edit the checkout); `worktree`: the
    tracked and untracked-but-not-ignored files as they are now; `files`: every file on disk but outputs (a
    device's copy, whose .git may be stale or missing). benchmarks/ itself is left out."""
    if mode == "files" or not (ROOT / ".git").exists():
        copy_files(dest)
        return
    if mode == "head":
        tar = subprocess.run(["git", "archive", "--format=tar", "HEAD"], cwd=ROOT, capture_output=True, check=True)
        with tarfile.open(fileobj=io.BytesIO(tar.stdout)) as tf:
            tf.extractall(dest, members=[m for m in tf.getmembers() if not m.name.startswith("benchmarks/")],
                          filter="data")
        return
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    for f in out.splitlines():
        if (ROOT / f).is_file() and not f.startswith("benchmarks/"):
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, dest / f)


def make_project(dest: Path, data: dict[str, list[dict]], taxonomy_csv: Path, params: dict, log: Path,
                 copy: str = "head", git: bool = True) -> None:
    """Copy the project into `dest`, add the converted data and params, and commit it in a fresh git repo
    (`git=False`: no repo, for the DVC-free executor)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    copy_project(dest, copy)
    if (ROOT / ".assets").is_dir():  # pinned wheels already fetched: hard links, no second download
        shutil.copytree(ROOT / ".assets", dest / ".assets", copy_function=os.link)
    raw = dest / "data/raw/memd"
    raw.mkdir(parents=True, exist_ok=True)
    shutil.copy(taxonomy_csv, raw / "taxonomy.csv")
    for name, rows in data.items():
        write_jsonl(raw / f"{name}.jsonl", rows)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    if not git:
        return
    for cmd in (["git", "init", "-q", "-b", "main"], ["git", "config", "user.email", "bench@voc"],
                ["git", "config", "user.name", "voc benchmark"], ["git", "add", "-A"],
                ["git", "commit", "-qm", "MEMD-ABSA benchmark baseline"]):
        sh(cmd, dest, log)


def load_comments(path: Path) -> list[dict]:
    return list(read_jsonl(path))

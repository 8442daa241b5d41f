"""A rerun that changes nothing leaves `git status` clean (issue 10, hole 16).

Wall-clock timings differ on every run. Written into a metrics file that git tracks or DVC hashes, they make
every `make repro` rewrite that file and dvc.lock even when every result is identical. So timings go to the
log only. The full `dvc repro -f` check on the tiny pipeline is in tests/integration/test_e2e_pipeline.py (slow).
"""

from __future__ import annotations

import json
from pathlib import Path

from voc.assets.model import materialize_model
from voc.train.sft import train_sft

TIMING_WORDS = ("runtime", "per_second", "seconds", "duration", "elapsed")


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _timing_keys(value: object, prefix: str = "") -> list[str]:
    """Dotted keys of a JSON value whose name says it is a timing."""
    if not isinstance(value, dict):
        return []
    found = [f"{prefix}{k}" for k in value if any(w in k for w in TIMING_WORDS)]
    return found + [x for k, v in value.items() for x in _timing_keys(v, f"{prefix}{k}.")]


def test_two_identical_sft_runs_write_byte_identical_metrics_without_timings(chat, sft_params, tmp_path: Path,
                                                                          tiny_model_dir):
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps({"id": str(i), "source": "voc", "messages": chat(f"Crash {i}.")}) + "\n"
                             for i in range(6)))
    for run in ("a", "b"):  # one checkpoint folder, as in dvc.yaml: its path is in metrics/sft/params.yaml
        d = tmp_path / run
        train_sft(train, tiny_model_dir, d / "model", tmp_path / "ckpt", d / "live", sft_params(max_steps=2))
    first, second = _files(tmp_path / "a" / "live"), _files(tmp_path / "b" / "live")
    assert "train_stats.json" in first and "metrics.json" in first and "plots/metrics/loss.tsv" in first
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []
    assert [name for name in first if any(w in name for w in TIMING_WORDS)] == []
    for name in ("train_stats.json", "metrics.json"):
        assert _timing_keys(json.loads(first[name])) == [], name


def test_assets_model_info_holds_no_wall_clock_time(tmp_path: Path, tiny_model_dir):
    info = materialize_model(str(tiny_model_dir), tmp_path / "base", None, tmp_path / "cache")
    assert info["parameters"] > 0
    assert _timing_keys(info) == []

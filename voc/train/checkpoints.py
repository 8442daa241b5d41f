"""Checkpoint hygiene for resumable training: run fingerprints, complete-checkpoint lookup, SIGTERM stop."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import signal
from pathlib import Path

from transformers import TrainerCallback

from voc.core.files import read_json, sha256_file, write_json

log = logging.getLogger("voc.train.sft")

FINGERPRINT_FILE = "fingerprint.json"
_CKPT = re.compile(r"^checkpoint-(\d+)$")


def base_model_sha256(base_dir: str | Path) -> dict[str, str] | str:
    """sha256 of every file of the base model (weights, config, tokenizer), keyed by relative path: new
    weights under an unchanged config.json are a different run. A hub id (no local folder) is its own name."""
    d = Path(base_dir)
    if not d.is_dir():
        return str(base_dir)
    files = [p for p in sorted(d.rglob("*")) if p.is_file() and not any(
        part.startswith(".") for part in p.relative_to(d).parts)]
    return {p.relative_to(d).as_posix(): sha256_file(p) for p in files}


def run_fingerprint(train_path: str | Path, sft: dict, base_dir: str | Path, world_size: int) -> dict:
    """What makes two runs the same run: the data, every sft param, the base model's files (weights included)
    and how many processes share the batches (a different world size would replay different samples after a
    resume)."""
    return {
        "train_sha256": sha256_file(train_path),
        "sft_sha256": hashlib.sha256(json.dumps(sft, sort_keys=True, default=str).encode()).hexdigest(),
        "base_sha256": base_model_sha256(base_dir),
        "world_size": int(world_size),
    }


def prepare_checkpoints(ckpt_dir: str | Path, fingerprint: dict) -> None:
    """Keep checkpoints only if they belong to this run; otherwise wipe them and start fresh."""
    d = Path(ckpt_dir)
    stamp = d / FINGERPRINT_FILE
    if d.is_dir() and any(d.iterdir()):
        old = read_json(stamp) if stamp.is_file() else None
        if old == fingerprint:
            return
        reason = "no fingerprint" if old is None else "fingerprint mismatch (data, params or base model changed)"
        log.warning("Wiping checkpoints in %s: %s; starting fresh", d, reason)
        shutil.rmtree(d)
    d.mkdir(parents=True, exist_ok=True)
    write_json(stamp, fingerprint)


def last_complete_checkpoint(ckpt_dir: str | Path) -> str | None:
    """Newest `checkpoint-N` holding trainer_state.json (written last, so a save cut by a kill is skipped)."""
    d = Path(ckpt_dir)
    if not d.is_dir():
        return None
    done = [p for p in d.iterdir() if _CKPT.match(p.name) and (p / "trainer_state.json").is_file()
            and not (p / "checkpoint-is-incomplete.txt").exists()]
    if not done:
        return None
    return str(max(done, key=lambda p: int(_CKPT.match(p.name).group(1))))


class GracefulStop(TrainerCallback):
    """On SIGTERM, finish the current optimizer step, save a checkpoint and stop (single process only:
    ranks receiving the signal at different steps would deadlock, so multi-process runs rely on the periodic
    checkpoints). A second SIGTERM kills at once."""

    def __init__(self, enabled: bool = True) -> None:
        self.stopped = False
        self._requested = False
        self._previous = signal.signal(signal.SIGTERM, self._on_sigterm) if enabled else None

    def _on_sigterm(self, signum, frame) -> None:
        self._requested = True
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    def restore(self) -> None:
        """Give the process its original SIGTERM handler back once training is over."""
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
            self._previous = None

    def on_step_end(self, args, state, control, **kwargs):
        if self._requested and not self.stopped:
            log.warning("SIGTERM received: saving a checkpoint at global step %d and stopping", state.global_step)
            self.stopped = True
            control.should_save = True
            control.should_training_stop = True
        return control

"""The held-out test sets that `decontam` checks the training set against, read from the pipeline's files.

Every set the pipeline scores on is held out: the VOC test comments, the MMLU questions, each suite
task's contexts and the instruction-probe prompts. A set that is missing is an error, never skipped: a skipped
set would let its items leak into training while the report says "0 hits".
"""

from __future__ import annotations

from pathlib import Path

from voc.core.errors import InputError
from voc.core.files import iter_jsonl
from voc.eval.probe import load_prompts

RERUN_FIX = "re-run the stage that prepares this test set"


def _read_texts(path: Path, keys: tuple[str, ...]) -> list[str]:
    """The text of every JSONL row: the first of `keys` present, a string or a list of strings."""
    out: list[str] = []
    for line_no, row in iter_jsonl(path, RERUN_FIX):  # the one user-JSONL reader: BOM, bad bytes, non-objects
        value = next((row[k] for k in keys if k in row), None)
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            out.extend(value)
        else:
            raise InputError(str(path), line_no, f"no text in field {' or '.join(keys)}", RERUN_FIX)
    return out


def task_sets(tasks: str | Path) -> dict[str, list[str]]:
    """Each suite task's contexts, keyed `tasks/<task>.<split>`.

    A row carries `context`, or a `contexts` list (one per choice, e.g. winogrande); each context is its own
    item, so test_index counts contexts in file order. A missing or empty folder is an error naming it.
    """
    gdir = Path(tasks)
    fix = "run the assets stage (dvc repro assets), or pass --tasks the folder it writes"
    if not gdir.is_dir():
        raise InputError(str(gdir), None, "the task-suite folder does not exist, so nothing could be checked", fix)
    files = sorted(gdir.glob("*.jsonl"))
    if not files:
        raise InputError(str(gdir), None, "no task file (*.jsonl) in the folder", fix)
    return {f"tasks/{f.stem}": _read_texts(f, ("context", "contexts")) for f in files}


def load_test_sets(voc_test: str | Path, mmlu_test: str | Path, tasks: str | Path,
                   probe: str | Path) -> dict[str, list[str]]:
    """Test items by set: VOC comment texts, MMLU questions, the task suite's contexts and probe prompts.

    `probe` is the general prompts file (params probe.path); only its `probe` split is held out, since the
    `replay` split is training data by design.
    """
    sets = {"voc": _read_texts(Path(voc_test), ("text",)), "mmlu": _read_texts(Path(mmlu_test), ("question",))}
    sets.update(task_sets(tasks))
    sets["probe"] = [row["prompt"] for row in load_prompts(probe, "probe")]
    return sets

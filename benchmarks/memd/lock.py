"""The pipeline as dvc.lock recorded it: each stage's expanded command, its deps and outs, and the params it read.

This is what a machine without DVC runs (direct.py): DVC has already expanded `foreach` and `${...}` into
dvc.lock's `cmd` fields, so nothing here re-implements DVC's templating, and nothing names a stage. The stage
graph comes from matching deps paths to outs paths.

The commands were expanded with the committed params.yaml. A param embedded in a command (`${sft.accelerate_config}`)
shows in it as its recorded value; when the project's params.yaml has another value, `command` substitutes it as a
whole shell word, and refuses (InputError) when the word cannot be told apart: two recorded params with that value
changed differently, or a new value that is not a string or a number. Two blind spots, both checked on the committed
dvc.yaml by tests/unit/benchmarks/test_lock.py: a param a command uses but its stage does not record, and a recorded
value that is also a literal word of the command. Only params.yaml's params are read (the project has no other).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import yaml

from voc.core.errors import InputError

_REFRESH = "run `dvc repro` where DVC is installed and commit dvc.lock"


@dataclass(frozen=True)
class Stage:
    """One dvc.lock stage (a `foreach` item is its own stage, e.g. `eval_voc@base`)."""

    name: str
    cmd: str
    deps: tuple[str, ...]
    outs: tuple[str, ...]
    keys: tuple[str, ...]      # the params.yaml keys it read, as recorded (`sft` is the whole block)
    params: dict[str, object]  # dotted leaf -> the value the command was expanded with
    line: int | None = None    # in dvc.lock, for error messages


def flatten(tree: object, prefix: str = "") -> dict[str, object]:
    """{'sft': {'lr': 1}} -> {'sft.lr': 1}; lists and empty blocks are leaves (so a key set to {} still exists)."""
    if not isinstance(tree, dict) or (prefix and not tree):
        return {prefix: tree}
    out: dict[str, object] = {}
    for key, value in tree.items():
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _lines(text: str) -> dict[str, int]:
    """Stage name -> its 1-based line in dvc.lock."""
    root = yaml.compose(text)
    for key, value in root.value if isinstance(root, yaml.MappingNode) else []:
        if key.value == "stages" and isinstance(value, yaml.MappingNode):
            return {k.value: k.start_mark.line + 1 for k, _ in value.value}
    return {}


def read_lock(path: Path) -> dict[str, Stage]:
    """dvc.lock's stages, in file order."""
    if not path.is_file():
        raise InputError(str(path), None, "no dvc.lock: the commands to run come from it", _REFRESH)
    text = path.read_text(encoding="utf-8")
    raw, lines = (yaml.safe_load(text) or {}).get("stages") or {}, _lines(text)
    stages = {}
    for name, entry in raw.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("cmd"), str):
            raise InputError(str(path), lines.get(name), f"stage {name} has no single `cmd` string",
                             f"{_REFRESH} (a stage of several commands is not supported here)")
        recorded = (entry.get("params") or {}).get("params.yaml") or {}
        stages[name] = Stage(name, entry["cmd"], tuple(d["path"] for d in entry.get("deps") or []),
                             tuple(o["path"] for o in entry.get("outs") or []), tuple(recorded),
                             flatten(recorded), lines.get(name))
    return stages


def overlap(a: str, b: str) -> bool:
    """Is one path the other, or inside it? (A dep inside an out folder, or a folder dep holding an out.)"""
    a, b = a.rstrip("/"), b.rstrip("/")
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def upstream(stages: dict[str, Stage]) -> dict[str, set[str]]:
    """Stage -> the stages whose outs it depends on."""
    return {s.name: {o.name for o in stages.values() if o is not s and any(overlap(d, p) for d in s.deps
                                                                           for p in o.outs)}
            for s in stages.values()}


def topo_order(stages: dict[str, Stage]) -> list[str]:
    """Upstream first; among stages ready together, dvc.lock's order (stable across runs, readable logs)."""
    sorter, rank = TopologicalSorter(upstream(stages)), {name: i for i, name in enumerate(stages)}
    try:
        sorter.prepare()
    except CycleError as e:
        raise InputError("dvc.lock", None, f"its stages form a cycle: {' -> '.join(e.args[1])}", _REFRESH) from None
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=rank.__getitem__)
        order += ready
        sorter.done(*ready)
    return order


def downstream(names: set[str], up: dict[str, set[str]]) -> set[str]:
    """`names` and every stage that depends on one of them, directly or not."""
    out = set(names)
    while grown := {s for s, ups in up.items() if s not in out and ups & out}:
        out |= grown
    return out


def covered(key: str, flat: dict[str, object]) -> dict[str, object]:
    """The leaves of a flattened params tree under a recorded key (`sft` covers `sft.lr`, `sft.lora.r`, ...)."""
    return {k: v for k, v in flat.items() if k == key or k.startswith(key + ".")}


def check_current(stages: dict[str, Stage], flat: dict[str, object], params_file: Path) -> None:
    """Refuse a dvc.lock that records a params key the project's params.yaml lacks (it predates a rename)."""
    for s in stages.values():
        for key in s.keys:
            if not covered(key, flat) and not any(covered(k, flat) for k in _parents(key)):
                raise InputError("dvc.lock", s.line, f"stage {s.name} records params key {key}, which "
                                 f"{params_file} does not have: dvc.lock is older than params.yaml", _REFRESH)


def _parents(key: str) -> list[str]:
    parts = key.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def changed(stages: dict[str, Stage], old: dict[str, object], new: dict[str, object]) -> set[str]:
    """Stages whose recorded params have other values in `new` than in `old` (both flattened params trees)."""
    return {s.name for s in stages.values() if any(covered(k, old) != covered(k, new) for k in s.keys)}


def _word(value: object) -> re.Pattern:
    return re.compile(rf"(?<!\S){re.escape(str(value))}(?!\S)")


def _scalar(value: object) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool) and str(value) != ""


def embedded(stage: Stage) -> dict[str, list[str]]:
    """Recorded value (as a shell word) -> the recorded keys with that value whose word is in the command."""
    found: dict[str, list[str]] = {}
    for key, value in stage.params.items():
        if _scalar(value) and _word(value).search(stage.cmd):
            found.setdefault(str(value), []).append(key)
    return found


def command(stage: Stage, flat: dict[str, object]) -> str:
    """The stage's recorded command, with each embedded param the project's params.yaml (`flat`) changed."""
    cmd = stage.cmd
    for old, keys in embedded(stage).items():
        news = {key: flat.get(key, stage.params[key]) for key in keys}
        values = {str(v) if _scalar(v) else repr(v) for v in news.values()}
        if values == {old}:
            continue
        where = f"stage {stage.name}: its command holds {old!r}, the dvc.lock value of {', '.join(news)}"
        if len(values) > 1:
            raise InputError("dvc.lock", stage.line, f"{where}, now changed to different values {sorted(values)}",
                             "give those keys one value, or run the series with DVC (`--executor dvc`)")
        new = next(iter(news.values()))
        if not _scalar(new):
            raise InputError("dvc.lock", stage.line, f"{where}, now {new!r}, which is no shell word",
                             "set it to a string or a number, or run the series with DVC (`--executor dvc`)")
        word = shlex.quote(str(new))
        cmd = _word(old).sub(lambda _m, w=word: w, cmd)  # a function: the new word is not a regex template
    return cmd

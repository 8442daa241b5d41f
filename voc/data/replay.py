"""Replay data: the general-purpose records mixed into training so the model keeps its general abilities.

`replay.sources` is a list of `{name, kind, path|id, weight}`. Kinds:
- `replay`: a prompt file answered greedily by the *base* model (the default): replaying the model's own
  behaviour anchors it without any curated corpus;
- `json`: a local JSON/JSONL file of Alpaca `{instruction, input, output}` rows or `{messages}` rows;
- `hf`: a Hugging Face dataset (`id: hf:<repo>`, optional `split`, default train) with the same row shapes,
  pinned by `revision: <commit>` (or explicitly `allow_unpinned: true`);
- `synth`: requests and answers both written by the base model, by category (`replay.synth`, `voc.data.synth`).

Records keep their row's or prompt's `category` where it has one (shipped prompts, synth, e.g. Dolly's
`category` column), so metrics/mix.json can report the shares by category.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from voc.core.errors import InputError
from voc.core.files import iter_json_array, iter_jsonl, json_kind
from voc.core.schema_replay import Replay, ReplaySource

# Answers a batch of prompts with the base model (the replay stage supplies it; only `replay` sources call it).
Answer = Callable[[ReplaySource, list[str]], list[str]]
# Writes a synth source's records and its report entry (the replay stage supplies it; only `synth` sources call it).
Synthesise = Callable[[ReplaySource], tuple[list[dict], dict]]


def _message(m: object, i: int, where: str, line: int | None) -> dict:
    """One chat message: an object with string role and content, or an error naming the row and message."""
    fix = 'write every message as {"role": "user"|"assistant"|"system", "content": "..."}'
    if not isinstance(m, dict):
        raise InputError(where, line, f"message {i + 1} is {json_kind(m)}, not an object", fix)
    for key in ("role", "content"):
        if not isinstance(m.get(key), str):
            raise InputError(where, line, f"message {i + 1} has no {key!r} string", fix)
    return {"role": m["role"], "content": m["content"]}


def to_messages(row: object, where: str, line: int | None) -> list[dict]:
    """Alpaca or messages row -> chat messages ending with the assistant's answer."""
    if not isinstance(row, dict):
        raise InputError(where, line, f"the row is {json_kind(row)}, not an object", "write each row as an object")
    if isinstance(row.get("messages"), list) and row["messages"]:
        msgs = [_message(m, i, where, line) for i, m in enumerate(row["messages"])]
        if msgs[-1]["role"] == "assistant" and msgs[-1]["content"].strip():
            return msgs
    elif isinstance(row.get("instruction"), str) and isinstance(row.get("output"), str):
        prompt = row["instruction"].strip()
        if str(row.get("input") or "").strip():
            prompt += "\n\n" + str(row["input"]).strip()
        if prompt and row["output"].strip():
            return [{"role": "user", "content": prompt}, {"role": "assistant", "content": row["output"].strip()}]
    raise InputError(where, line, "row is neither Alpaca {instruction,input,output} nor {messages} ending in a "
                     "non-empty assistant turn", "convert the row to one of those two shapes")


def read_rows(path: Path) -> list[tuple[int, dict]]:
    """(line, row) pairs from a JSON list or a JSONL file, read by voc.core.files's line-numbered user-file readers (BOM
    accepted; a non-UTF-8 byte, bad JSON or a non-object row is an error naming the line)."""
    if path.suffix == ".json":
        return list(iter_json_array(path, "use a JSON list of row objects, or JSONL"))
    return list(iter_jsonl(path, "write one JSON object per line"))


def load_json_source(src: ReplaySource) -> list[dict]:
    path = Path(src.path)
    rows = read_rows(path)
    return [{"id": f"{src.name}-{i:05d}", **_category(r), "messages": to_messages(r, str(path), line)}
            for i, (line, r) in enumerate(rows)]


def load_hf_source(src: ReplaySource, key: str | None = None) -> tuple[list[dict], str]:
    """The rows of an hf: dataset at its pinned commit, and that commit (for the replay stage's metrics).

    `key` names the source in params.yaml for errors, e.g. `replay.sources[1]`."""
    import datasets

    from voc.assets.source import hf_revision
    from voc.core.sources import Source

    ident = str(src.id or src.path).removeprefix("hf:")
    commit = hf_revision(Source("hf", f"hf:{ident}", repo_id=ident), key or f"replay.sources[{src.name}]",
                         src.revision, src.allow_unpinned, "dataset")
    ds = datasets.load_dataset(ident, split=src.split or "train", revision=commit)
    return [{"id": f"{src.name}-{i:05d}", **_category(dict(r)), "messages": to_messages(dict(r), f"hf:{ident}", i)}
            for i, r in enumerate(ds)], commit


def load_replay_prompts(src: ReplaySource, limit: int | None) -> list[dict]:
    """The `replay` split of the prompt file (the `probe` split is held out for the instruction probe)."""
    path = Path(src.path)
    prompts = [(line, r) for line, r in read_rows(path) if r.get("split", "replay") == "replay"]
    for line, p in prompts:
        if not isinstance(p.get("prompt"), str) or not p["prompt"].strip():
            raise InputError(str(path), line, f"prompt {p.get('id')!r} has no text", "add a 'prompt' string")
    rows = [r for _, r in prompts]
    return rows[:limit] if limit else rows


def replay_records(src: ReplaySource, prompts: list[dict], answers: list[str]) -> list[dict]:
    """Pair prompts with the base model's answers; empty answers are kept out and counted by the caller."""
    return [{"id": f"{src.name}-{p.get('id', i)}", **_category(p),
             "messages": [{"role": "user", "content": p["prompt"]}, {"role": "assistant", "content": a}]}
            for i, (p, a) in enumerate(zip(prompts, answers, strict=True)) if a.strip()]


def _category(row: object) -> dict:
    """The row's category field, when it has a non-empty string one."""
    cat = row.get("category") if isinstance(row, dict) else None
    return {"category": cat} if isinstance(cat, str) and cat.strip() else {}


def _source_rows(cfg: Replay, i: int, src: ReplaySource, answer: Answer,
                 synth: Synthesise | None) -> tuple[list[dict], dict]:
    """One source's records and its line of the report."""
    if src.kind == "synth":
        if synth is None:
            raise ValueError("a synth replay source needs the synthesise callback")
        return synth(src)
    if src.kind == "replay":
        prompts = load_replay_prompts(src, cfg.generate.limit)
        got = replay_records(src, prompts, answer(src, [q["prompt"] for q in prompts]))
        return got, {"kind": "replay", "prompts": len(prompts), "records": len(got),
                     "empty_answers": len(prompts) - len(got)}
    if src.kind == "hf":
        got, commit = load_hf_source(src, f"replay.sources[{i}]")
        return got, {"kind": "hf", "records": len(got), "revision": commit}
    got = load_json_source(src)
    return got, {"kind": src.kind, "records": len(got)}


def build_replay(cfg: Replay, answer: Answer, synth: Synthesise | None = None) -> tuple[list[dict], dict]:
    """Every source's records tagged with the source's name (what `mix` weighs), and a report per source."""
    rows, report = [], {}
    for i, src in enumerate(cfg.sources):
        got, report[src.name] = _source_rows(cfg, i, src, answer, synth)
        rows.extend({**r, "source": src.name} for r in got)
    return rows, report

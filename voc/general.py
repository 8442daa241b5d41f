"""General ("replay") data: the non-domain records mixed into training so the model keeps its abilities.

`general.sources` is a list of `{name, kind, path|id, weight}`. Kinds:
- `replay`: a prompt file answered greedily by the *base* model (the default): replaying the model's own
  behaviour anchors it without any curated corpus;
- `json`: a local JSON/JSONL file of Alpaca `{instruction, input, output}` rows or `{messages}` rows;
- `hf`: a Hugging Face dataset (`id: hf:<repo>`, optional `split`, default train) with the same row shapes.
"""

from __future__ import annotations

import json
from pathlib import Path

from voc.errors import InputError, ParamsError

KINDS = ("replay", "json", "hf")


def validate_sources(sources: object, where: str = "params.yaml") -> list[dict]:
    """Check `general.sources` before any expensive stage starts."""
    if not isinstance(sources, list):
        raise ParamsError(where, None, "general.sources is not a list", "give a list of {name, kind, path|id, weight}")
    names = set()
    for i, src in enumerate(sources):
        key = f"general.sources[{i}]"
        if not isinstance(src, dict) or not src.get("name"):
            raise ParamsError(where, None, f"{key} has no name", "give every source a unique name")
        if src.get("kind") not in KINDS:
            raise ParamsError(where, None, f"{key} ({src['name']}) has unknown kind {src.get('kind')!r}",
                              f"use one of {', '.join(KINDS)}")
        if src["name"] in names or src["name"] == "voc":
            raise ParamsError(where, None, f"{key} name {src['name']!r} is reserved or repeated", "rename it")
        names.add(src["name"])
        if not (src.get("path") or src.get("id")):
            raise ParamsError(where, None, f"{key} ({src['name']}) has no path or id", "add path: or id:")
        weight = src.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
            raise ParamsError(where, None, f"{key} weight {weight!r} is not positive", "use a weight > 0")
    return sources


def to_messages(row: dict, where: str, line: int | None) -> list[dict]:
    """Alpaca or messages row -> chat messages ending with the assistant's answer."""
    if isinstance(row.get("messages"), list) and row["messages"]:
        msgs = [{"role": m["role"], "content": m["content"]} for m in row["messages"]]
        if msgs[-1]["role"] == "assistant":
            return msgs
    elif isinstance(row.get("instruction"), str) and isinstance(row.get("output"), str):
        prompt = row["instruction"].strip()
        if str(row.get("input") or "").strip():
            prompt += "\n\n" + str(row["input"]).strip()
        if prompt and row["output"].strip():
            return [{"role": "user", "content": prompt}, {"role": "assistant", "content": row["output"].strip()}]
    raise InputError(where, line, "row is neither Alpaca {instruction,input,output} nor {messages} ending in an "
                     "assistant turn", "convert the row to one of those two shapes")


def read_rows(path: Path) -> list[tuple[int | None, dict]]:
    """(line, row) pairs from a JSON list or a JSONL file."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix == ".json":
        data = json.loads(text)
        if not isinstance(data, list):
            raise InputError(str(path), None, "the JSON file is not a list of rows", "use a JSON list or JSONL")
        return [(None, r) for r in data]
    rows = []
    for i, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                rows.append((i, json.loads(line)))
            except json.JSONDecodeError as e:
                raise InputError(str(path), i, f"invalid JSON ({e.msg})", "write one JSON object per line") from None
    return rows


def load_json_source(src: dict) -> list[dict]:
    path = Path(src["path"])
    rows = read_rows(path)
    return [{"id": f"{src['name']}-{i:05d}", "messages": to_messages(r, str(path), line)}
            for i, (line, r) in enumerate(rows)]


def load_hf_source(src: dict) -> list[dict]:
    import datasets

    ident = str(src.get("id") or src.get("path")).removeprefix("hf:")
    ds = datasets.load_dataset(ident, split=src.get("split", "train"))
    return [{"id": f"{src['name']}-{i:05d}", "messages": to_messages(dict(r), f"hf:{ident}", i)}
            for i, r in enumerate(ds)]


def load_replay_prompts(src: dict, limit: int | None) -> list[dict]:
    """The `replay` split of the prompt file (the `probe` split is held out for the instruction probe)."""
    path = Path(src["path"])
    prompts = [r for _, r in read_rows(path) if r.get("split", "replay") == "replay"]
    for p in prompts:
        if not isinstance(p.get("prompt"), str) or not p["prompt"].strip():
            raise InputError(str(path), None, f"prompt {p.get('id')!r} has no text", "add a 'prompt' string")
    return prompts[:limit] if limit else prompts


def replay_records(src: dict, prompts: list[dict], answers: list[str]) -> list[dict]:
    """Pair prompts with the base model's answers; empty answers are kept out and counted by the caller."""
    return [{"id": f"{src['name']}-{p.get('id', i)}",
             "messages": [{"role": "user", "content": p["prompt"]}, {"role": "assistant", "content": a}]}
            for i, (p, a) in enumerate(zip(prompts, answers, strict=True)) if a.strip()]

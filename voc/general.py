"""General ("replay") data: the non-domain records mixed into training so the model keeps its abilities.

`general.sources` is a list of `{name, kind, path|id, weight}`. Kinds:
- `replay`: a prompt file answered greedily by the *base* model (the default): replaying the model's own
  behaviour anchors it without any curated corpus;
- `json`: a local JSON/JSONL file of Alpaca `{instruction, input, output}` rows or `{messages}` rows;
- `hf`: a Hugging Face dataset (`id: hf:<repo>`, optional `split`, default train) with the same row shapes.
"""

from __future__ import annotations

from pathlib import Path

from voc.errors import InputError, ParamsError
from voc.io import iter_json_array, iter_jsonl, json_kind

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
    """(line, row) pairs from a JSON list or a JSONL file, read by voc.io's line-numbered user-file readers (BOM
    accepted; a non-UTF-8 byte, bad JSON or a non-object row is an error naming the line)."""
    if path.suffix == ".json":
        return list(iter_json_array(path, "use a JSON list of row objects, or JSONL"))
    return list(iter_jsonl(path, "write one JSON object per line"))


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
    prompts = [(line, r) for line, r in read_rows(path) if r.get("split", "replay") == "replay"]
    for line, p in prompts:
        if not isinstance(p.get("prompt"), str) or not p["prompt"].strip():
            raise InputError(str(path), line, f"prompt {p.get('id')!r} has no text", "add a 'prompt' string")
    rows = [r for _, r in prompts]
    return rows[:limit] if limit else rows


def replay_records(src: dict, prompts: list[dict], answers: list[str]) -> list[dict]:
    """Pair prompts with the base model's answers; empty answers are kept out and counted by the caller."""
    return [{"id": f"{src['name']}-{p.get('id', i)}",
             "messages": [{"role": "user", "content": p["prompt"]}, {"role": "assistant", "content": a}]}
            for i, (p, a) in enumerate(zip(prompts, answers, strict=True)) if a.strip()]

"""Mixing replay data into the customer training set at a chosen share.

`mix` is the share of replay data in the final set: all customer records are used once and replay records
are drawn to N_g = N_c * mix / (1 - mix), split across sources by weight (largest remainder), without
replacement while a source has rows left. With `mix_unit: tokens` the same share is counted in tokens.
`mix` and `mix_unit` are typed and range-checked once, by the params schema (`voc.core.schema`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

from voc.core.errors import InputError, ParamsError


def replay_target(n_customer: float, mix: float) -> int:
    """How many replay units (records or tokens) give a replay share of `mix`."""
    return round(n_customer * mix / (1 - mix))


def allocate(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Split `total` across sources proportionally to `weights` (normalised), largest remainder first."""
    wsum = sum(weights.values())
    if wsum <= 0:
        raise ParamsError("params.yaml", None, f"replay source weights {weights} sum to {wsum}",
                          "give every replay source a positive weight")
    exact = {k: total * w / wsum for k, w in weights.items()}
    counts = {k: math.floor(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: (counts[k] - exact[k], k))[: total - sum(counts.values())]:
        counts[k] += 1
    return counts


def draw(rows: Sequence[dict], k: int, rng: random.Random) -> list[dict]:
    """k rows without replacement while possible; beyond len(rows), further shuffled passes (counted by caller)."""
    if not rows or k <= 0:
        return []
    out: list[dict] = []
    while len(out) < k:
        batch = list(rows)
        rng.shuffle(batch)
        out.extend(batch[: k - len(out)])
    return out


def draw_tokens(rows: Sequence[dict], budget: int, rng: random.Random, n_tokens: Callable[[dict], int]) -> list[dict]:
    """Rows until their tokens reach `budget` (the last row may overshoot by less than one row)."""
    out: list[dict] = []
    total = 0
    while rows and total < budget:
        for row in draw(rows, len(rows), rng):
            if total >= budget:
                break
            out.append(row)
            total += n_tokens(row)
    return out


def approx_tokens(row: dict) -> int:
    """Whitespace word count of a row's messages: a tokenizer-free stand-in used when none is given."""
    return sum(len(m["content"].split()) for m in row.get("messages", []))


def check_replay(replay: dict[str, Sequence[dict]], weights: dict[str, float], mix: float,
                 where: str = "data/replay/replay.jsonl") -> None:
    """With mix > 0 every configured source must have rows: an empty or missing one would silently give 0 %
    replay data, or move its share to the other sources."""
    if mix <= 0:
        return
    if not weights:
        raise ParamsError("params.yaml", None, f"mix={mix} but replay.sources is empty",
                          "add a replay source, or set mix: 0 to train on customer data only")
    unlisted = sorted(set(replay) - set(weights))
    if unlisted:
        raise InputError(where, None, f"the replay data holds source {unlisted[0]!r}, which replay.sources does "
                         "not list", "rerun the replay stage after editing replay.sources")
    empty = [name for name in sorted(weights) if not replay.get(name)]
    if empty:
        raise InputError(where, None, f"replay source {empty[0]!r} has no rows, so its share of mix={mix} "
                         "cannot be drawn", f"check the path or id of {empty[0]!r} (for kind replay: that the base "
                         "model answers) and rerun the replay stage, or remove it from replay.sources")


def mix_records(customer: Sequence[dict], replay: dict[str, Sequence[dict]], weights: dict[str, float], mix: float,
                seed: int, unit: str = "samples", n_tokens: Callable[[dict], int] | None = None
                ) -> tuple[list[dict], dict]:
    """Return the shuffled training rows and a report of achieved counts and token shares per source."""
    check_replay(replay, weights, mix)
    rng = random.Random(seed)
    count = n_tokens or approx_tokens
    picked: dict[str, list[dict]] = {}
    if mix > 0:
        size = sum(count(r) for r in customer) if unit == "tokens" else len(customer)
        targets = allocate(replay_target(size, mix), {k: weights[k] for k in replay})
        for name in sorted(replay):
            src_rng = random.Random(f"{seed}-{name}")
            picked[name] = (draw_tokens(replay[name], targets[name], src_rng, count) if unit == "tokens"
                            else draw(replay[name], targets[name], src_rng))
    rows = [{**r, "source": "voc"} for r in customer]
    for name, items in picked.items():
        rows.extend({**r, "source": name} for r in items)
    rng.shuffle(rows)
    return rows, mix_report(rows, replay, count, mix, unit)


def mix_report(rows: Sequence[dict], replay: dict[str, Sequence[dict]], n_tokens: Callable[[dict], int],
               mix: float, unit: str) -> dict:
    sources: dict[str, dict] = {}
    for r in rows:
        s = sources.setdefault(r["source"], {"records": 0, "tokens": 0, "unique": set()})
        s["records"] += 1
        s["tokens"] += n_tokens(r)
        s["unique"].add(r["id"])
    total_rec = sum(s["records"] for s in sources.values()) or 1
    total_tok = sum(s["tokens"] for s in sources.values()) or 1
    per_source = {
        name: {"records": s["records"], "unique": len(s["unique"]), "available": len(replay.get(name, [])) or None,
               "tokens": s["tokens"], "record_share": round(s["records"] / total_rec, 4),
               "token_share": round(s["tokens"] / total_tok, 4)}
        for name, s in sorted(sources.items())
    }
    replay_rec = sum(v["records"] for k, v in per_source.items() if k != "voc")
    replay_tok = sum(v["tokens"] for k, v in per_source.items() if k != "voc")
    return {"mix": mix, "mix_unit": unit, "records": total_rec, "tokens": total_tok,
            "replay_record_share": round(replay_rec / total_rec, 4),
            "replay_token_share": round(replay_tok / total_tok, 4), "sources": per_source}

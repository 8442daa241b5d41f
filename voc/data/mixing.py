"""Mixing general (replay) data into the customer training set at a chosen share.

`mix` is the share of general data in the final set: all customer records are used once and general records
are drawn to N_g = N_c * mix / (1 - mix), split across sources by weight (largest remainder), without
replacement while a source has rows left. With `mix_unit: tokens` the same share is counted in tokens.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

from voc.core.errors import InputError, ParamsError


def validate_mix(mix: object, where: str = "params.yaml") -> float:
    """`mix` must be a finite number in [0, 1) (the rule is `voc.core.schema.Mix`): 1 would mean no customer
    data at all."""
    from voc.core.params import check
    from voc.core.schema import Mix

    try:
        return float(check(Mix, mix, where, prefix=("mix",)))
    except ParamsError:
        raise ParamsError(where, None, f"mix={mix!r} is not a number in [0, 1)",
                          "set mix to the share of general data, e.g. mix: 0.25 (0 = customer data only)") from None


def general_target(n_customer: float, mix: float) -> int:
    """How many general units (records or tokens) give a general share of `mix`."""
    return round(n_customer * mix / (1 - mix))


def allocate(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Split `total` across sources proportionally to `weights` (normalised), largest remainder first."""
    wsum = sum(weights.values())
    if wsum <= 0:
        raise ParamsError("params.yaml", None, f"general source weights {weights} sum to {wsum}",
                          "give every general source a positive weight")
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


def check_general(general: dict[str, Sequence[dict]], weights: dict[str, float], mix: float,
                  where: str = "data/general/general.jsonl") -> None:
    """With mix > 0 every configured source must have rows: an empty or missing one would silently give 0 %
    general data, or move its share to the other sources."""
    if mix <= 0:
        return
    if not weights:
        raise ParamsError("params.yaml", None, f"mix={mix} but general.sources is empty",
                          "add a general source, or set mix: 0 to train on customer data only")
    unlisted = sorted(set(general) - set(weights))
    if unlisted:
        raise InputError(where, None, f"the general data holds source {unlisted[0]!r}, which general.sources does "
                         "not list", "rerun the general stage after editing general.sources")
    empty = [name for name in sorted(weights) if not general.get(name)]
    if empty:
        raise InputError(where, None, f"general source {empty[0]!r} has no rows, so its share of mix={mix} "
                         "cannot be drawn", f"check the path or id of {empty[0]!r} (for replay: that the base model "
                         "answers) and rerun the general stage, or remove it from general.sources")


def mix_records(customer: Sequence[dict], general: dict[str, Sequence[dict]], weights: dict[str, float], mix: float,
                seed: int, unit: str = "samples", n_tokens: Callable[[dict], int] | None = None
                ) -> tuple[list[dict], dict]:
    """Return the shuffled training rows and a report of achieved counts and token shares per source."""
    mix = validate_mix(mix)
    if unit not in ("samples", "tokens"):
        raise ParamsError("params.yaml", None, f"mix_unit={unit!r}", "use mix_unit: samples or mix_unit: tokens")
    check_general(general, weights, mix)
    rng = random.Random(seed)
    count = n_tokens or approx_tokens
    picked: dict[str, list[dict]] = {}
    if mix > 0:
        size = sum(count(r) for r in customer) if unit == "tokens" else len(customer)
        targets = allocate(general_target(size, mix), {k: weights[k] for k in general})
        for name in sorted(general):
            src_rng = random.Random(f"{seed}-{name}")
            picked[name] = (draw_tokens(general[name], targets[name], src_rng, count) if unit == "tokens"
                            else draw(general[name], targets[name], src_rng))
    rows = [{**r, "source": "voc"} for r in customer]
    for name, items in picked.items():
        rows.extend({**r, "source": name} for r in items)
    rng.shuffle(rows)
    return rows, mix_report(rows, general, count, mix, unit)


def mix_report(rows: Sequence[dict], general: dict[str, Sequence[dict]], n_tokens: Callable[[dict], int],
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
        name: {"records": s["records"], "unique": len(s["unique"]), "available": len(general.get(name, [])) or None,
               "tokens": s["tokens"], "record_share": round(s["records"] / total_rec, 4),
               "token_share": round(s["tokens"] / total_tok, 4)}
        for name, s in sorted(sources.items())
    }
    general_rec = sum(v["records"] for k, v in per_source.items() if k != "voc")
    general_tok = sum(v["tokens"] for k, v in per_source.items() if k != "voc")
    return {"mix": mix, "mix_unit": unit, "records": total_rec, "tokens": total_tok,
            "general_record_share": round(general_rec / total_rec, 4),
            "general_token_share": round(general_tok / total_tok, 4), "sources": per_source}

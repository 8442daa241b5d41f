"""Mixing replay data into the customer training set at a chosen share.

`mix` is the share of replay data in the final set: all customer records are used once and replay records
are drawn to N_g = N_c * mix / (1 - mix), split across sources by weight (largest remainder), without
replacement while a source has rows left. With `mix_unit: tokens` the same share is counted in tokens.
`mix` and `mix_unit` are typed and range-checked once, by the params schema (`voc.core.schema`).

The report also gives the shares per category (a replay row's `category`; the customer data is `voc`), the
unit the published recipes are written in.

The mix is kept as draws (row numbers), not copies: memory grows with the output (8 bytes per row), not with the
inputs times the sources, and tokens are counted in batches, once per row that is used.
"""

from __future__ import annotations

import math
import random
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from itertools import accumulate

from voc.core.errors import InputError, ParamsError

TokenCounter = Callable[[Sequence[dict]], list[int]]  # token counts of a batch of rows
CHUNK = 2048  # rows per token-counting call: a tokenizer is far faster on a batch of texts than on one at a time
UNCATEGORISED = "uncategorised"  # the metrics/mix.json category of replay rows without a `category` field


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


def shuffled(n: int, rng: random.Random) -> array:
    """0..n-1 in the order `rng.shuffle` would put n rows: shuffle's swaps depend only on the length, so shuffling
    row numbers draws the same rows as shuffling the rows themselves, without copying them."""
    order = array("q", range(n))
    rng.shuffle(order)
    return order


def draw(n: int, k: int, rng: random.Random) -> array:
    """k of n row numbers without replacement while possible; beyond n, further shuffled passes (counted by the
    report's `unique`)."""
    out = array("q")
    while n and len(out) < k:
        out.extend(shuffled(n, rng)[: k - len(out)])
    return out


class RowTokens:
    """Token counts of one source's rows, each row counted at most once and in batches of CHUNK; only rows that
    are drawn (or visited while drawing by tokens) are counted, so the memo grows with the output."""

    def __init__(self, rows: Sequence[dict], count: TokenCounter) -> None:
        self.rows, self.count, self.memo = rows, count, {}

    def of(self, index: Sequence[int]) -> list[int]:
        todo = [i for i in dict.fromkeys(index) if i not in self.memo]
        for start in range(0, len(todo), CHUNK):
            part = todo[start:start + CHUNK]
            self.memo.update(zip(part, self.count([self.rows[i] for i in part]), strict=True))
        return [self.memo[i] for i in index]

    def visit(self, order: Sequence[int]) -> Iterator[tuple[int, int]]:
        """(row number, tokens) along `order`, counted a chunk at a time as the caller goes."""
        for start in range(0, len(order), CHUNK):
            part = order[start:start + CHUNK]
            yield from zip(part, self.of(part), strict=True)


def draw_tokens(tokens: RowTokens, budget: int, rng: random.Random) -> array:
    """Row numbers until their tokens reach `budget` (the last row may overshoot by less than one row)."""
    out = array("q")
    total, n = 0, len(tokens.rows)
    while n and total < budget:
        for i, t in tokens.visit(shuffled(n, rng)):
            if total >= budget:
                break
            out.append(i)
            total += t
    return out


def total_tokens(rows: Sequence[dict], count: TokenCounter) -> int:
    """Tokens of all rows, counted in batches (nothing kept per row)."""
    return sum(sum(count(rows[start:start + CHUNK])) for start in range(0, len(rows), CHUNK))

def approx_tokens(row: dict) -> int:
    """Whitespace word count of a row's messages: a tokenizer-free stand-in used when none is given."""
    return sum(len(m["content"].split()) for m in row.get("messages", []))


def approx_token_counts(rows: Sequence[dict]) -> list[int]:
    return [approx_tokens(r) for r in rows]


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


class MixedRows(Sequence[dict]):
    """The mixed training set as row numbers across all sources (customer rows first, then each replay source in
    name order): 8 bytes per output row, and a row (`{**row, "source": name}`) is built only when read."""

    def __init__(self, sources: Sequence[tuple[str, Sequence[dict]]], order: array) -> None:
        self.names = [name for name, _ in sources]
        self.sources = [rows for _, rows in sources]
        self.starts = list(accumulate((len(rows) for rows in self.sources[:-1]), initial=0))
        self.order = order

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, k: int) -> dict:  # type: ignore[override]  # no slices: rows are read one at a time
        g = self.order[k]
        s = bisect_right(self.starts, g) - 1  # an empty source shares its start with the next: the last one wins
        return {**self.sources[s][g - self.starts[s]], "source": self.names[s]}

    def __iter__(self) -> Iterator[dict]:
        return (self[k] for k in range(len(self.order)))


def mix_records(customer: Sequence[dict], replay: dict[str, Sequence[dict]], weights: dict[str, float], mix: float,
                seed: int, unit: str = "samples", count_tokens: TokenCounter | None = None
                ) -> tuple[MixedRows, dict]:
    """Return the shuffled training rows and a report of achieved counts and token shares per source.
    `count_tokens` counts a batch of rows (default: whitespace words)."""
    check_replay(replay, weights, mix)
    count = count_tokens or approx_token_counts
    names = sorted(replay) if mix > 0 else []
    tokens = {name: RowTokens(replay[name], count) for name in names}
    customer_tokens = total_tokens(customer, count)
    picks: dict[str, array] = {}
    if names:
        size = customer_tokens if unit == "tokens" else len(customer)
        targets = allocate(replay_target(size, mix), {k: weights[k] for k in replay})
        for name in names:
            src_rng = random.Random(f"{seed}-{name}")
            picks[name] = (draw_tokens(tokens[name], targets[name], src_rng) if unit == "tokens"
                           else draw(len(replay[name]), targets[name], src_rng))
    order = array("q", range(len(customer)))
    start = len(customer)
    for name in names:
        order.extend([start + i for i in picks[name]])
        start += len(replay[name])
    random.Random(seed).shuffle(order)  # the same permutation as shuffling the rows: same seed, same file
    rows = MixedRows([("voc", customer), *((name, replay[name]) for name in names)], order)
    counts = {"voc": (len(customer), customer_tokens, len({r["id"] for r in customer}))} if customer else {}
    cats = {"voc": {"voc": [len(customer), customer_tokens]}} if customer else {}
    for name, idx in picks.items():
        if idx:
            toks = tokens[name].of(idx)
            counts[name] = (len(idx), sum(toks), len({replay[name][i]["id"] for i in set(idx)}))
            cats[name] = category_counts(replay[name], idx, toks)
    return rows, mix_report(counts, replay, mix, unit, cats)


def category_counts(rows: Sequence[dict], idx: Sequence[int], toks: Sequence[int]) -> dict[str, list[int]]:
    """[records, tokens] per category of the drawn rows (`idx`, with their token counts `toks`); a row without a
    `category` counts as UNCATEGORISED."""
    out: dict[str, list[int]] = {}
    for i, t in zip(idx, toks, strict=True):
        c = out.setdefault(rows[i].get("category") or UNCATEGORISED, [0, 0])
        c[0], c[1] = c[0] + 1, c[1] + t
    return out


def _shares(rec: int, tok: int, total_rec: int, total_tok: int) -> dict:
    return {"records": rec, "tokens": tok, "record_share": round(rec / total_rec, 4),
            "token_share": round(tok / total_tok, 4)}


def mix_report(counts: dict[str, tuple[int, int, int]], replay: dict[str, Sequence[dict]], mix: float,
               unit: str, cats: dict[str, dict[str, list[int]]] | None = None) -> dict:
    """Records, tokens and unique rows per source (`counts`: name -> those three) as shares of the mix; with
    `cats` (source -> category -> [records, tokens]) also the shares per category, of the whole mix: overall
    (the customer data is category `voc`) and within each source whose rows carry categories."""
    total_rec = sum(c[0] for c in counts.values()) or 1
    total_tok = sum(c[1] for c in counts.values()) or 1
    per_source = {
        name: {"records": rec, "unique": uniq, "available": len(replay.get(name, [])) or None, "tokens": tok,
               "record_share": round(rec / total_rec, 4), "token_share": round(tok / total_tok, 4)}
        for name, (rec, tok, uniq) in sorted(counts.items())
    }
    overall: dict[str, list[int]] = {}
    for name, by_cat in sorted((cats or {}).items()):
        if name != "voc" and set(by_cat) != {UNCATEGORISED}:
            per_source[name]["categories"] = {c: _shares(*v, total_rec, total_tok) for c, v in sorted(by_cat.items())}
        for c, (rec, tok) in by_cat.items():
            got = overall.setdefault(c, [0, 0])
            got[0], got[1] = got[0] + rec, got[1] + tok
    replay_rec = sum(v["records"] for k, v in per_source.items() if k != "voc")
    replay_tok = sum(v["tokens"] for k, v in per_source.items() if k != "voc")
    report = {"mix": mix, "mix_unit": unit, "records": total_rec, "tokens": total_tok,
              "replay_record_share": round(replay_rec / total_rec, 4),
              "replay_token_share": round(replay_tok / total_tok, 4), "sources": per_source}
    if cats is not None:
        report["categories"] = {c: _shares(*v, total_rec, total_tok) for c, v in sorted(overall.items())}
    return report

"""The checks a self-synthesised request/answer pair must pass before it becomes replay data.

A small model sampling freely writes some junk: requests cut mid-sentence, loops, copies of its system prompt,
the wrong language, and many near-identical requests. Each check here is cheap and explainable, and every pair it
drops is counted by name (`Tally`), so metrics/replay.json accounts for every request written.

Texts are compared after `voc.data.decontam.normalize` (NFKC, lowercase, no punctuation), the same normal form
the decontamination uses.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from functools import cache

from voc.core.schema_replay import SynthFilters
from voc.data.decontam import ngrams, normalize

# Every filter, in the order a pair meets them (the first failing one is the one counted).
REQUEST_FILTERS = ("request_unterminated", "request_too_short", "request_too_long", "request_repetitive",
                   "copies_hint", "request_language_mismatch", "duplicate", "near_duplicate")
ANSWER_FILTERS = ("answer_unterminated", "answer_too_short", "answer_too_long", "answer_repetitive",
                  "answer_language_mismatch")
FILTERS = REQUEST_FILTERS + ANSWER_FILTERS
SHINGLE = 3  # words per shingle for repetition, hint copying and near-duplicates
NUM_PERM = 128  # MinHash permutations: Jaccard estimates within about +-0.09 (1/sqrt(128))
LSH_MAX = 0.9  # the highest threshold the LSH itself runs at; candidates are confirmed at the configured one


def shingles(words: list[str], n: int = SHINGLE) -> list[str]:
    """Word n-grams; a text shorter than n words is its own single shingle."""
    return list(ngrams(words, n)) or [" ".join(words)]


def repeated_share(words: list[str]) -> float:
    """Share of word 3-grams that repeat an earlier one: near 0 for prose, near 1 for a loop ("the the the ...")."""
    grams = shingles(words)
    return 1 - len(set(grams)) / len(grams)


def copies_hint(request: str, hint: str) -> bool:
    """The request restates its system hint instead of asking something: it holds the whole hint, lies inside it,
    or half of its word 3-grams (or half of the hint's) are shared."""
    req, hnt = normalize(request), normalize(hint)
    if not req or req in hnt or hnt in req:
        return True
    req_grams, hint_grams = set(shingles(req.split())), set(shingles(hnt.split()))
    return len(req_grams & hint_grams) >= 0.5 * min(len(req_grams), len(hint_grams))


@cache
def _identifier():
    """py3langid's naive-Bayes character n-gram model, shipped in its wheel (no download), loaded once."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE)


def known_language(code: str) -> bool:
    """Whether py3langid knows the ISO code (its model's label set)."""
    return code in _identifier().labels


def language_of(text: str, candidates: Iterable[str]) -> str:
    """The most likely of `candidates` (ISO 639-1 codes) for the text. Light: a character n-gram model over a
    closed set (the category's languages plus English), so a short text can be misread; it catches the common
    failure, a small model answering in English when asked to write German."""
    ident = _identifier()
    ident.set_languages(sorted(set(candidates)))  # cheap: column views of the loaded model
    return ident.classify(text)[0]


def _length_or_loop(words: list[str], lo: int, hi: int, repeated: float, role: str) -> str | None:
    if len(words) < lo:
        return f"{role}_too_short"
    if len(words) > hi:
        return f"{role}_too_long"
    return f"{role}_repetitive" if repeated_share(words) > repeated else None


def _first_problem(text: str, hit: bool, kind: str, bounds: tuple[int, int], f: SynthFilters, copied_hint: bool,
                   language: str | None, candidates: set[str]) -> str | None:
    """The first filter a request or an answer (`kind`) fails, in the order the drops are counted: cut at the token
    limit, length or a loop, a copied hint (requests only), the wrong language."""
    if hit:
        return f"{kind}_unterminated"
    problem = _length_or_loop(normalize(text).split(), *bounds, f.max_repeated, kind)
    if problem:
        return problem
    if copied_hint:
        return "copies_hint"
    if language and language_of(text, candidates) != language:
        return f"{kind}_language_mismatch"
    return None


def request_problem(text: str, hit: bool, hint: str, language: str | None, candidates: set[str],
                    f: SynthFilters, dups: Duplicates, key: str) -> str | None:
    """The first request filter the text fails, or None (then `dups` remembers it). Duplicates come last, so a
    junk request never shadows a good one written later."""
    bounds = (f.min_request_words, f.max_request_words)
    return (_first_problem(text, hit, "request", bounds, f, copies_hint(text, hint), language, candidates)
            or dups.check(key, text))


def answer_problem(text: str, hit: bool, language: str | None, candidates: set[str],
                   f: SynthFilters) -> str | None:
    """The first answer filter the text fails, or None."""
    return _first_problem(text, hit, "answer", (f.min_answer_words, f.max_answer_words), f, False, language,
                          candidates)


class Duplicates:
    """Exact duplicates by normalised text; near duplicates by MinHash LSH over word 3-grams (datasketch), each
    candidate confirmed by its exact shingle Jaccard, so the LSH only saves the all-pairs comparison. The first
    of a group is kept (requests are checked in a fixed order, so the same one every run)."""

    def __init__(self, threshold: float) -> None:
        from datasketch import MinHashLSH

        self.threshold = threshold
        # datasketch cannot band above ~0.97 at 128 permutations; a lower LSH threshold only finds more candidates
        self.lsh = MinHashLSH(threshold=min(threshold, LSH_MAX), num_perm=NUM_PERM)
        self.seen: set[str] = set()
        self.grams: dict[str, set[str]] = {}

    def check(self, key: str, text: str) -> str | None:
        """None for a new text (then remembered), else "duplicate" or "near_duplicate"."""
        from datasketch import MinHash

        norm = normalize(text)
        if norm in self.seen:
            return "duplicate"
        grams = set(shingles(norm.split()))
        sketch = MinHash(num_perm=NUM_PERM)
        sketch.update_batch([g.encode("utf-8") for g in grams])
        for other in self.lsh.query(sketch):
            if len(grams & self.grams[other]) / len(grams | self.grams[other]) >= self.threshold:
                return "near_duplicate"
        self.seen.add(norm)
        self.grams[key] = grams
        self.lsh.insert(key, sketch)
        return None


class Tally:
    """Drops per filter and per category; `counts_add_up` is the invariant the report promises."""

    def __init__(self, planned: dict[str, int]) -> None:
        self.planned = planned
        self.dropped = {cat: Counter() for cat in planned}
        self.kept: Counter = Counter()

    def drop(self, category: str, reason: str) -> None:
        if reason not in FILTERS:
            raise ValueError(f"unknown filter {reason!r}: add it to FILTERS so the report counts it")
        self.dropped[category][reason] += 1

    def keep(self, category: str) -> None:
        self.kept[category] += 1

    def report(self) -> dict:
        total = Counter()
        for c in self.dropped.values():
            total.update(c)
        per_cat = {cat: {"requested": n, "records": self.kept[cat],
                         "dropped": {f: self.dropped[cat][f] for f in FILTERS}}
                   for cat, n in sorted(self.planned.items())}
        return {"requested": sum(self.planned.values()), "records": sum(self.kept.values()),
                "dropped": {f: total[f] for f in FILTERS}, "categories": per_cat}

    def counts_add_up(self) -> bool:
        return all(n == self.kept[cat] + sum(self.dropped[cat].values()) for cat, n in self.planned.items())

"""Each synth filter drops what it should, under its own name, and lets good pairs through."""

from __future__ import annotations

import pytest

from voc.core.schema_replay import SynthFilters
from voc.data.synth_filters import (
    FILTERS,
    Duplicates,
    Tally,
    answer_problem,
    copies_hint,
    language_of,
    repeated_share,
    request_problem,
)

HINT = "You are a helpful AI assistant that helps users write, explain and fix short programs, mostly in Python."
LANGS = {"de", "fr", "es", "en"}
GOOD = "Write a Python function that returns the second largest number in a list, and explain it briefly."
GERMAN = "Kannst du mir bitte erklären, wie ich in Python eine Liste sortiere und die doppelten Einträge entferne?"


def _request(text: str, hit: bool = False, language: str | None = None, dups: Duplicates | None = None,
             key: str = "k", **limits) -> str | None:
    return request_problem(text, hit, HINT, language, LANGS, SynthFilters(**limits), dups or Duplicates(0.7), key)


@pytest.mark.parametrize(("text", "hit", "language", "limits", "reason"), [
    (GOOD, True, None, {}, "request_unterminated"),
    ("Help me", False, None, {"min_request_words": 3}, "request_too_short"),
    (GOOD, False, None, {"max_request_words": 5}, "request_too_long"),
    ("please fix it " * 12, False, None, {}, "request_repetitive"),
    ("You are a helpful AI assistant that helps users write, explain and fix short programs", False, None, {},
     "copies_hint"),
    (GOOD, False, "de", {}, "request_language_mismatch"),
])
def test_each_request_filter_drops_what_it_should(text, hit, language, limits, reason):
    assert _request(text, hit, language, **limits) == reason


def test_a_good_request_passes_and_a_german_one_passes_its_language_check():
    assert _request(GOOD) is None
    assert _request(GERMAN, language="de") is None


def test_exact_and_near_duplicates_keep_the_first_only():
    dups = Duplicates(0.7)
    assert _request(GOOD, dups=dups, key="a") is None
    assert _request(GOOD.upper().replace(",", " ,"), dups=dups, key="b") == "duplicate"  # normalised equal
    near = GOOD.replace("and explain it briefly.", "and explain it very briefly.")
    assert _request(near, dups=dups, key="c") == "near_duplicate"
    assert _request("What is the capital of Australia, and why was it chosen over Sydney?", dups=dups,
                    key="d") is None


@pytest.mark.parametrize("threshold", [0.05, 0.7, 1.0])
def test_near_duplicate_thresholds_across_the_range(threshold):
    """The two requests share 6 of their 7 word 3-grams (Jaccard 6/7): a near duplicate at or below that, not
    above (the LSH runs at most at 0.9, since datasketch cannot band a threshold of 1 at 128 permutations)."""
    dups = Duplicates(threshold)
    assert dups.check("a", "please write a short poem about the sea") is None
    again = dups.check("b", "please write a short poem about the sea today")
    assert again == ("near_duplicate" if threshold <= 6 / 7 else None)
    assert dups.check("c", "please write a short poem about the sea") == "duplicate"


@pytest.mark.parametrize(("text", "hit", "language", "limits", "reason"), [
    ("def f(x): return x", True, None, {}, "answer_unterminated"),
    ("Sure.", False, None, {"min_answer_words": 2}, "answer_too_short"),
    (GOOD, False, None, {"max_answer_words": 4}, "answer_too_long"),
    ("I am sorry. " * 20, False, None, {}, "answer_repetitive"),
    (GOOD, False, "de", {}, "answer_language_mismatch"),
])
def test_each_answer_filter_drops_what_it_should(text, hit, language, limits, reason):
    assert answer_problem(text, hit, language, LANGS, SynthFilters(**limits)) == reason


def test_filters_measures():
    assert repeated_share(list("abcabcabc")) > 0.5
    assert repeated_share(GOOD.split()) == 0
    assert copies_hint(HINT, HINT) and not copies_hint(GOOD, HINT)
    assert language_of("Écris un court poème sur la mer et le vent.", LANGS) == "fr"
    assert language_of("Escribe una receta sencilla de paella para cuatro personas.", LANGS) == "es"


def test_tally_counts_every_request_once():
    tally = Tally({"code": 3, "math": 1})
    tally.drop("code", "duplicate")
    tally.keep("code")
    assert not tally.counts_add_up()  # one code request unaccounted for
    tally.drop("code", "answer_unterminated")
    tally.keep("math")
    assert tally.counts_add_up()
    rep = tally.report()
    assert rep["requested"] == rep["records"] + sum(rep["dropped"].values()) == 4
    assert set(rep["dropped"]) == set(FILTERS) and rep["categories"]["code"]["dropped"]["duplicate"] == 1
    with pytest.raises(ValueError, match="unknown filter"):
        tally.drop("code", "made_up")

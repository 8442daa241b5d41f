"""voc.data.spans.locate: verbatim, relaxed (case, spacing, punctuation), fuzzy above the threshold, else not_found."""

from voc.data.spans import locate

TEXT = "Ich mag die Kamera, und die App stürzt ständig ab. Der Akku hält nicht lange!"


def test_verbatim_span_is_found_where_it_is():
    s = locate("die Kamera", TEXT)
    assert (s.outcome, TEXT[s.start:s.end]) == ("verbatim", "die Kamera")


def test_dropped_conjunction_and_capitalised_word_is_relaxed():
    s = locate("Die App stürzt ständig ab", TEXT)
    assert (s.outcome, TEXT[s.start:s.end]) == ("relaxed", "die App stürzt ständig ab")


def test_punctuation_and_spacing_are_ignored():
    s = locate("der akku  hält nicht lange", TEXT)
    assert (s.outcome, TEXT[s.start:s.end]) == ("relaxed", "Der Akku hält nicht lange")


def test_typo_is_fuzzy_above_the_threshold_and_not_found_above_its_score():
    s = locate("Die App stürtzt ständig ab", TEXT, threshold=0.9)
    assert s.outcome == "fuzzy" and 0.9 <= s.score < 1 and "stürzt ständig ab" in TEXT[s.start:s.end]
    assert locate("Die App stürtzt ständig ab", TEXT, threshold=0.99).outcome == "not_found"


def test_unrelated_or_empty_content_is_not_found():
    assert locate("Völlig anders", TEXT).outcome == "not_found"
    assert locate("", TEXT).outcome == "not_found"
    assert locate("a much longer content than the text itself", "short").outcome == "not_found"


def test_fuzzy_positions_point_into_the_original_text_when_folding_changes_its_length():
    """"ß" folds to "ss": a position in the folded text is mapped back, not used on the original."""
    text = "Straße groß, Maßband süß. Die App stürzt ständig ab."
    s = locate("die App stürtzt ständig ab", text, threshold=0.9)
    assert s.outcome == "fuzzy" and text[s.start:s.end].strip() == "Die App stürzt ständig ab."[:-1]

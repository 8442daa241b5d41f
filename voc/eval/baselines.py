"""Baselines that keep the fine-tuned model honest: what a model must beat before its leaf F1 means anything.

Two baselines are trained on the prepared train split and scored on the same test rows (`eval.limit`) with the
same parser and scorer as `eval_voc`: each baseline writes its answer as the JSON array a model would, and that
text goes through `prediction_rows` and `score_predictions` unchanged, so every metric (and its interval) means
the same thing on both sides.

- `majority`: every comment gets the one leaf that most training comments carry.
- `tfidf`: TF-IDF word uni- and bigrams with one-vs-rest logistic regression over leaves, multi-label. A comment
  gets every leaf whose probability reaches a threshold, and at least its most probable leaf (every gold comment
  has one). The threshold is the one with the best leaf micro F1 on a seeded held-out share of train
  (`baselines.holdout`, ties to the lower threshold); the model is then refit on the whole train split.

Neither baseline splits a comment: each predicted segment's content is the whole comment and its emotion is the
most frequent training emotion. Leaf F1 and the Nova-compatible F1 read only the labels, so they are fair; the
segment and emotion scores of a baseline are those of a majority-emotion guess.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MultiLabelBinarizer
from threadpoolctl import threadpool_limits

from voc.core.errors import InputError
from voc.core.files import read_jsonl
from voc.core.taxonomy import Taxonomy, load_taxonomy, path_key
from voc.data.comments import leaf_counts
from voc.eval.predictions import prediction_rows
from voc.eval.scoring.intervals import comment_outcomes
from voc.eval.scoring.metrics import score_predictions
from voc.eval.scoring.sets import as_segments, seg_path, set_prf

THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(1, 20))  # 0.05 .. 0.95, searched on the held-out part
NAMES = ("majority", "tfidf")  # the order ties are broken in: the simpler baseline wins a tie for `best`


def leaf_sets(records: Sequence[dict], levels: Sequence[str]) -> list[list[tuple[str, ...]]]:
    """Each comment's distinct leaf paths, in segment order (a leaf counts once per comment, as in scoring)."""
    out = []
    for rec in records:
        paths = (seg_path(s, levels, len(levels)) for s in as_segments(rec.get("segments")))
        out.append(list(dict.fromkeys(p for p in paths if p is not None)))
    return out


def majority_leaf(train_sets: list[list[tuple[str, ...]]]) -> tuple[str, ...]:
    """The leaf the most training comments carry (comments, not segments: set-based F1 counts a leaf once per
    comment); ties go to the first path in sorted order, so the choice never depends on file order."""
    counts = Counter(leaf for leaves in train_sets for leaf in leaves)
    return min(counts, key=lambda leaf: (-counts[leaf], leaf))


def majority_emotion(train: Sequence[dict]) -> str:
    """The most frequent training emotion over all segments (ties by name)."""
    counts = Counter(str(s.get("emotion", "")) for r in train for s in as_segments(r.get("segments")))
    return min(counts, key=lambda emo: (-counts[emo], emo))


def answer(text: str, leaves: Sequence[tuple[str, ...]], emotion: str, levels: Sequence[str]) -> str:
    """The baseline's reply as a model would write it: one segment per leaf, the whole comment as its content."""
    return json.dumps([{"content": text, **dict(zip(levels, leaf, strict=True)), "emotion": emotion}
                       for leaf in leaves], ensure_ascii=False)


def fit_tfidf(texts: Sequence[str], label_sets: Sequence[Sequence[tuple[str, ...]]], seed: int) -> tuple:
    """(fitted pipeline, its leaf classes). When train holds a single leaf, one never-seen column keeps the
    target two-dimensional (multi-label, not binary); one-vs-rest fits a constant for it."""
    mlb = MultiLabelBinarizer()
    y = mlb.fit_transform([[path_key(leaf) for leaf in leaves] for leaves in label_sets])
    if y.shape[1] == 1:
        y = np.hstack([y, np.zeros_like(y)])
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                          OneVsRestClassifier(LogisticRegression(max_iter=1000, random_state=seed)))
    # one BLAS thread: a leaf's fit is too small to share, and threads that do oversubscribe a busy machine
    # (3,268 MEMD comments x 112 leaves: 8.5 s with one thread, 328 s with the default on a loaded 2-core box)
    with threadpool_limits(limits=1):
        model.fit(list(texts), y)
    return model, list(mlb.classes_)


def pick_leaves(proba: np.ndarray, classes: Sequence[str], threshold: float) -> list[list[str]]:
    """Per comment, the leaves whose probability reaches `threshold`, most probable first, and at least the top
    one (columns past `classes` are padding and never picked)."""
    proba = proba[:, : len(classes)]
    out = []
    for row in proba:
        order = np.argsort(-row, kind="stable")
        out.append([classes[i] for i in order if row[i] >= threshold] or [classes[order[0]]])
    return out


def pick_threshold(texts: Sequence[str], label_sets: list, seed: int, holdout: float) -> tuple[float, float]:
    """(threshold, its held-out leaf micro F1): fit on train minus a seeded `holdout` share, score every
    threshold in THRESHOLDS on that share, keep the best (the lowest on a tie)."""
    fit_idx, held_idx = train_test_split(np.arange(len(texts)), test_size=holdout, random_state=seed)
    model, classes = fit_tfidf([texts[i] for i in fit_idx], [label_sets[i] for i in fit_idx], seed)
    proba = model.predict_proba([texts[i] for i in held_idx])
    gold = [[path_key(leaf) for leaf in label_sets[i]] for i in held_idx]
    scores = [set_prf(gold, pick_leaves(proba, classes, t))["f1"] for t in THRESHOLDS]
    best = int(np.argmax(scores))
    return THRESHOLDS[best], scores[best]


def tfidf_answers(train: Sequence[dict], test: Sequence[dict], levels: Sequence[str], emotion: str,
                  holdout: float, seed: int) -> tuple[list[str], dict]:
    """The TF-IDF baseline's replies to the test comments, and what it chose (threshold, held-out F1)."""
    texts = [r["text"] for r in train]
    label_sets = leaf_sets(train, levels)
    threshold, held_f1 = pick_threshold(texts, label_sets, seed, holdout)
    model, classes = fit_tfidf(texts, label_sets, seed)
    picked = pick_leaves(model.predict_proba([r["text"] for r in test]), classes, threshold)
    by_key = {path_key(leaf): leaf for leaves in label_sets for leaf in leaves}
    replies = [answer(r["text"], [by_key[k] for k in keys], emotion, levels) for r, keys in zip(test, picked,
                                                                                                   strict=True)]
    return replies, {"threshold": threshold, "holdout_f1": round(held_f1, 4)}


def read_split(data_dir: Path, name: str, levels: Sequence[str]) -> list[dict]:
    """A prepared split; train must hold at least two labelled comments (one to fit on, one to pick on)."""
    path = data_dir / f"{name}.jsonl"
    records = read_jsonl(path)
    if name == "train" and sum(bool(s) for s in leaf_sets(records, levels)) < 2:
        raise InputError(str(path), None, "the baselines need at least two training comments with a labelled "
                         "segment", "check the prepare stage's output (data.comments, prepare.test_size)")
    return records


def score_baselines(data_dir: str | Path, limit: int | None, holdout: float, seed: int) -> tuple[dict, dict]:
    """(metrics, details) on the first `limit` test comments of a prepared data folder.

    metrics = {"majority": {...}, "tfidf": {..., "threshold": t}, "best": name}: each baseline's scores have the
    keys of `eval_voc`'s metrics; `best` is the one with the higher leaf micro F1 (the simpler on a tie).
    details = file name -> rows: `<name>.jsonl`, one prediction row per comment as eval_voc's predictions.jsonl,
    and `<name>_items.jsonl`, its per-comment outcomes as eval_voc's items.jsonl (report pairs SFT with them)."""
    data_dir = Path(data_dir)
    taxonomy: Taxonomy = load_taxonomy(data_dir / "taxonomy.csv")
    levels = taxonomy.levels
    train = [r for r in read_split(data_dir, "train", levels) if leaf_sets([r], levels)[0]]
    test = read_split(data_dir, "test", levels)[:limit]
    train_counts = leaf_counts(train, levels)
    emotion = majority_emotion(train)
    leaf = majority_leaf(leaf_sets(train, levels))
    tfidf, chosen = tfidf_answers(train, test, levels, emotion, holdout, seed)
    replies = {"majority": [answer(r["text"], [leaf], emotion, levels) for r in test], "tfidf": tfidf}
    rows = {name: prediction_rows(test, replies[name], taxonomy) for name in NAMES}
    metrics: dict = {name: score_predictions(rows[name], taxonomy, train_counts) for name in NAMES}
    metrics["majority"].update(leaf=path_key(leaf), emotion=emotion)
    metrics["tfidf"].update(chosen, emotion=emotion)
    metrics["best"] = max(NAMES, key=lambda name: (metrics[name]["f1"], -NAMES.index(name)))
    details = {f"{name}{suffix}": out for name in NAMES
               for suffix, out in ((".jsonl", rows[name]), ("_items.jsonl", comment_outcomes(rows[name], levels)))}
    return metrics, details

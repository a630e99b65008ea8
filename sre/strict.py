"""The base of every model read from a file an author writes: unknown keys are errors, values are frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A typo in a key is an error, not a silently ignored setting; a loaded definition is not mutated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

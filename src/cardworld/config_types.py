"""The field types every config section is built from (config.py, credit_config.py)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from cardworld.validation import parse_date

Prob = Annotated[float, Field(ge=0.0, le=1.0)]
PosFloat = Annotated[float, Field(gt=0.0)]
NonNeg = Annotated[float, Field(ge=0.0)]
Day = Annotated[dt.date, BeforeValidator(parse_date)]  # YYYY-MM-DD only, from YAML, the CLI and Python


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class MeanSd(Strict):
    """A personal attribute drawn per entity: mean and standard deviation across the population."""

    mean: float
    sd: NonNeg


__all__ = ["Day", "MeanSd", "NonNeg", "PosFloat", "Prob", "Strict"]

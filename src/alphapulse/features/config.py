"""The feature-set definition as data: indicators, news sentiment and labels, validated and YAML-loadable.

Everything that changes a feature value lives here and nowhere else, because the feature-set version
is a hash of this object: a setting hidden in code would change features without changing the version.
"""

from __future__ import annotations

import json
from datetime import timedelta
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from alphapulse.features.sentiment import scorer_names
from alphapulse.features.technical import AnyIndicator
from alphapulse.timeframes import timeframe_delta


class SentimentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    scorer: str = "vader"
    #: |compound| below this counts as neutral in the positive/negative shares (VADER's own convention).
    neutral_band: float = Field(default=0.05, ge=0, lt=1)
    #: Half-lives of the exponentially decayed sentiment, as durations ("1h", "6h", "1d").
    half_lives: tuple[str, ...] = ("1h", "6h", "24h")
    #: Headlines this many half-lives old or older are ignored (weight below 2**-n), so the decayed value
    #: depends on a bounded news window and an online window reproduces it exactly.
    horizon_half_lives: int = Field(default=10, ge=1)

    @field_validator("half_lives")
    @classmethod
    def _durations(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for half_life in value:
            timeframe_delta(half_life)
        return value

    @field_validator("scorer")
    @classmethod
    def _registered(cls, value: str) -> str:
        if value not in scorer_names():
            raise ValueError(f"unknown sentiment scorer {value!r}; registered: {', '.join(scorer_names())}")
        return value

    @property
    def news_lookback(self) -> timedelta:
        """How far before a bar's close headlines can still affect its features."""
        longest = max((timeframe_delta(h) for h in self.half_lives), default=timedelta(0))
        return longest * self.horizon_half_lives


class LabelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    horizon_bars: int = Field(default=1, ge=1)
    #: ``label_up`` is 1 when the forward log return exceeds this (e.g. a round-trip fee).
    threshold: float = 0.0


class FeatureConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timeframe: str = "1h"
    indicators: tuple[AnyIndicator, ...] = Field(min_length=1)
    #: Bars per block of the epoch-anchored computation grid (see ``matrix``): recursive indicators
    #: start afresh at each block's anchor, so an online window of ``warm-up + anchor_block_bars`` bars
    #: reproduces the offline features bit for bit. Larger blocks make the offline build cheaper and
    #: the online window longer.
    anchor_block_bars: int = Field(default=1600, ge=1)
    sentiment: SentimentConfig = SentimentConfig()
    labels: LabelConfig = LabelConfig()

    @field_validator("timeframe")
    @classmethod
    def _timeframe(cls, value: str) -> str:
        timeframe_delta(value)
        return value

    def canonical_json(self) -> str:
        """One spelling of the config (sorted keys, no whitespace): the input of the version hash."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


def load_config(path: Path | None = None, *, timeframe: str | None = None) -> FeatureConfig:
    """A config from YAML (without a path, the default set shipped inside the package), built for
    ``timeframe`` when given: the pipeline's bars, whatever timeframe the file was written for."""
    if path is None:
        text = resources.files("alphapulse.features").joinpath("default.yaml").read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    config = FeatureConfig.model_validate(yaml.safe_load(text))
    return config if timeframe is None else config.model_copy(update={"timeframe": timeframe})

"""What one worker serves: the latest champion (and challenger) bundle of every registered model in the
BentoML store, as one immutable :class:`ModelSet` that a reload replaces whole.

A swap is a single assignment: a request that already picked its models finishes with them, the next one
sees the new set, and no request waits for a reload's loading (only for its one garbage collection, see
``heap.settle_heap``). BentoML workers share no memory, so a reload asked for through one worker reaches
the others through a marker file they poll.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alphapulse.features import FeatureConfig
from alphapulse.serving import metrics, signals
from alphapulse.serving.bundle import BUNDLE_FORMAT, ServedModel, load_bundle
from alphapulse.serving.heap import settle_heap
from alphapulse.serving.inputs import InputError
from alphapulse.serving.schemas import ModelSetInfo
from alphapulse.settings import Settings

#: (symbol, timeframe): what a client asks about.
Instrument = tuple[str, str]


@dataclass(frozen=True)
class InstrumentModels:
    """The models that answer for one instrument: its champion, and the challenger scored in the
    champion's shadow when ``settings.shadow_challenger`` is on."""

    champion: ServedModel
    challenger: ServedModel | None

    @property
    def roles(self) -> list[ServedModel]:
        """Champion first: its answer is the one returned, the challenger's is only logged."""
        return [self.champion] if self.challenger is None else [self.champion, self.challenger]


@dataclass(frozen=True)
class ModelSet:
    """Everything one worker serves, by instrument. ``describe`` is its wire form (``ModelSetInfo``)."""

    instruments: Mapping[Instrument, InstrumentModels]
    shadow: bool

    @classmethod
    def load(cls, shadow: bool) -> ModelSet:
        """The latest bundles of the process's BentoML store (a Bento's own when in one)."""
        instruments: dict[Instrument, InstrumentModels] = {}
        for registered in _registered_models():
            champion = load_bundle(registered, "champion")
            if champion is None:
                continue
            challenger = load_bundle(registered, "challenger") if shadow else None
            instruments[(champion.symbol, champion.timeframe)] = InstrumentModels(champion, challenger)
        return cls(instruments, shadow)

    def __len__(self) -> int:
        return len(self.instruments)

    def models(self) -> list[ServedModel]:
        return [model for models in self.instruments.values() for model in models.roles]

    def features(self) -> dict[signals.Key, FeatureConfig]:
        """The feature rows the models answer ``/signal`` from, with the config each was built with."""
        return {
            (model.symbol, model.timeframe, model.predictor.feature_version): model.config
            for model in self.models()
        }

    def get(self, symbol: str, timeframe: str) -> InstrumentModels | None:
        return self.instruments.get((symbol, timeframe))

    def answering(self, symbol: str, timeframe: str) -> InstrumentModels:
        """The instrument's models, or the request's fault (422) naming the field no model matches."""
        models = self.get(symbol, timeframe)
        if models is None:
            field = "symbol" if all(s != symbol for s, _ in self.instruments) else "timeframe"
            raise InputError(field, self.unknown(symbol, timeframe))
        return models

    def unknown(self, symbol: str, timeframe: str) -> str:
        known = ", ".join(f"{s} {t}" for s, t in sorted(self.instruments)) or "none"
        return f"no model serves {symbol} {timeframe} (served: {known})"

    def describe(self) -> ModelSetInfo:
        return ModelSetInfo(models=[model.describe() for model in self.models()], shadow=self.shadow)


class LiveModels:
    """The :class:`ModelSet` a worker serves now (``current``) and its reloads, one at a time.

    ``prepare`` runs on a newly loaded set before it is swapped in (the worker reads its features there,
    so a model with a new feature set never meets a ``/signal`` before its features while the store
    answers)."""

    def __init__(self, settings: Settings, *, prepare: Callable[[ModelSet], None]) -> None:
        self._shadow = settings.shadow_challenger
        self._prepare = prepare
        self._lock = threading.Lock()
        self._marker = settings.home / "serving" / "reload-requested"
        self._marker_seen = _mtime(self._marker)
        self.current = ModelSet.load(self._shadow)
        metrics.models_served(self.current.models(), replaced=())
        settle_heap()

    def reload(self) -> ModelSet:
        """Load the store's latest bundles, prepare them and swap them in; a bundle that cannot be read
        fails the reload, and the current set stays."""
        with self._lock:
            loaded = ModelSet.load(self._shadow)
            self._prepare(loaded)
            kept = {model.tag for model in loaded.models()}
            replaced = [model for model in self.current.models() if model.tag not in kept]
            metrics.models_served(loaded.models(), replaced)
            self.current = loaded
            settle_heap()
            return loaded

    def reload_everywhere(self) -> ModelSet:
        """Reload this worker now and ask the other workers to follow (:meth:`follow_others`)."""
        loaded = self.reload()
        self._marker.parent.mkdir(parents=True, exist_ok=True)
        self._marker.write_text(datetime.now(UTC).isoformat())
        self._marker_seen = _mtime(self._marker)
        return loaded

    def follow_others(self) -> None:
        """Reload if another worker asked for it since the last look."""
        seen = _mtime(self._marker)
        if seen != self._marker_seen:
            self._marker_seen = seen
            self.reload()


def _registered_models() -> list[str]:
    import bentoml

    names = set()
    for model in bentoml.models.list():
        if model.info.metadata.get("format") == BUNDLE_FORMAT and model.info.labels.get("role") == "champion":
            names.add(str(model.info.labels["registered_model"]))
    return sorted(names)


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return None

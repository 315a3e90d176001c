"""Nested hyper-parameter search: Optuna's TPE over a family's search space, inside one training span.

Each trial fits on the span's fit part and is scored by log-loss on the span's own inner validation slice,
so the search never sees the walk-forward window the model is then judged on: tuning on that window would
make the out-of-sample figures a selection, not a test. The configured params are always trial 0, so the
chosen params are never worse on validation than the configured ones, and a zero budget is exactly the
untuned model.

Optuna is imported inside the functions that run a search: the family modules are imported by serving,
whose environment does not have it, and a run without tuning should not pay for the import. MLflow too is
imported only to log: walk-forward imports this module, and evaluation (which the CLI renders from) imports
walk-forward.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sklearn.metrics import log_loss

from alphapulse.training.config import TrainingConfig
from alphapulse.training.dataset import FloatArray
from alphapulse.training.models import Fitted, Fitter, ModelFamily, Params, Suggester, get_family

if TYPE_CHECKING:
    import optuna


@dataclass(frozen=True)
class Split:
    """A training span's fit rows and its later, purged validation rows: all a search is given."""

    x_fit: FloatArray
    y_fit: FloatArray
    x_val: FloatArray
    y_val: FloatArray

    def fit(self, fitter: Fitter) -> Fitted:
        return fitter.fit(self.x_fit, self.y_fit, self.x_val, self.y_val)


@dataclass(frozen=True)
class Trial:
    number: int
    params: dict[str, Any]
    validation_log_loss: float
    seconds: float


@dataclass(frozen=True)
class Tuned:
    """The params to fit (validated by the family's params class) and every trial that led to them."""

    params: dict[str, Any]
    trials: tuple[Trial, ...]


def _validation_log_loss(fitter: Fitter, split: Split, withhold: bool) -> float:
    """``withhold``: the fitter learns from the validation rows, so it is fitted without them."""
    training = replace(split, x_val=split.x_val[:0], y_val=split.y_val[:0]) if withhold else split
    proba = training.fit(fitter).model.predict_proba(split.x_val)[:, 1]
    return float(log_loss(split.y_val, proba, labels=[0, 1]))


def _objective(
    family: ModelFamily[Any],
    space: Callable[[Suggester, Any], dict[str, Any]],
    configured: Params,
    split: Split,
    config: TrainingConfig,
) -> Callable[[optuna.Trial], float]:
    def objective(trial: optuna.Trial) -> float:
        params = family.params.model_validate(space(trial, configured)).model_dump()
        trial.set_user_attr("params", params)
        fitter = family.fitter(params, seed=config.seed, threads=config.threads)
        return _validation_log_loss(fitter, split, family.fit_learns_validation)

    return objective


def _search(study: optuna.Study, objective: Callable[[optuna.Trial], float], config: TrainingConfig) -> None:
    """Trial 0 runs whatever the timeout, so there is always a scored trial to choose from; the timeout
    bounds the rest (Optuna checks it between trials, so the last trial may end past it)."""
    budget = config.model.tuning
    started = time.monotonic()
    study.optimize(objective, n_trials=1)
    left = None if budget.timeout_seconds is None else budget.timeout_seconds - (time.monotonic() - started)
    if budget.trials > 1 and (left is None or left > 0):
        study.optimize(objective, n_trials=budget.trials - 1, timeout=left)


def _trials(study: optuna.Study) -> tuple[Trial, ...]:
    import optuna

    return tuple(
        Trial(
            number=trial.number,
            params=trial.user_attrs["params"],
            validation_log_loss=float(trial.values[0]),
            seconds=trial.duration.total_seconds() if trial.duration else 0.0,
        )
        for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    )


def tune(fitter: Fitter, split: Split, config: TrainingConfig) -> Tuned:
    """The params of the trial with the lowest validation log-loss (the earliest of equals, so the
    configured params win a tie); the configured params as they are with no budget or no search space."""
    family = get_family(fitter.name)
    if config.model.tuning.trials == 0 or family.space is None:
        return Tuned(dict(fitter.params), ())
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    configured = family.params.model_validate(fitter.params)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=config.seed))
    study.enqueue_trial(configured.model_dump())
    _search(study, _objective(family, family.space, configured, split, config), config)
    trials = _trials(study)
    best = min(trials, key=lambda trial: (trial.validation_log_loss, trial.number))
    return Tuned(best.params, trials)


def log_trials(family: str, fold: int | None, trials: Sequence[Trial]) -> None:
    """Each trial as a child run of the active run, to compare trials across folds in the MLflow UI.

    ``fold`` is the walk-forward fold the search ran in, or None for the refit on every row.
    """
    import mlflow

    parent = mlflow.active_run()
    if parent is None:
        raise RuntimeError("log_trials: no active MLflow run to nest the trials under")
    span = "all" if fold is None else f"fold {fold}"
    for trial in trials:
        with mlflow.start_run(
            experiment_id=parent.info.experiment_id,
            run_name=f"{family} {span} trial {trial.number}",
            nested=True,
            tags={"family": family, "fold": span, "trial": str(trial.number)},
        ):
            mlflow.log_params(trial.params)
            mlflow.log_metrics(
                {
                    "validation_log_loss": trial.validation_log_loss,
                    "seconds": trial.seconds,
                    **({} if fold is None else {"fold": float(fold)}),
                }
            )

"""Nested hyper-parameter search: deterministic, starting from the configured params, blind to the
walk-forward test window, free when the budget is zero, bounded by its timeout, and logged as child runs."""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import optuna
import pytest
from mlflow import MlflowClient

from alphapulse.training.config import TrainingConfig, TuningConfig, load_config
from alphapulse.training.dataset import Dataset, dataset_from
from alphapulse.training.models import Fitter, Params, families, family_names, get_family
from alphapulse.training.tuning import Split, Trial, log_trials, tune
from alphapulse.training.walkforward import fit_predictor, splitter
from tests.unit.training.synthetic import small_config, synthetic_matrix


def _with_tuning(config: TrainingConfig, trials: int, timeout: float | None = None) -> TrainingConfig:
    tuning = TuningConfig(trials=trials, timeout_seconds=timeout)
    return config.model_copy(update={"model": config.model.model_copy(update={"tuning": tuning})})


def _fitter(name: str, config: TrainingConfig) -> Fitter:
    return next(fitter for fitter in families(config) if fitter.name == name)


def _split(n: int = 1200, seed: int = 0) -> Split:
    """Rows whose label leans on the first feature, the last fifth kept for validation."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4))
    y = (0.5 * x[:, 0] + rng.standard_normal(n) > 0).astype(np.float64)
    cut = n * 4 // 5
    return Split(x[:cut], y[:cut], x[cut:], y[cut:])


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return dataset_from(synthetic_matrix(3000, signal=0.3))


def _outcome(trials: tuple[Trial, ...]) -> list[tuple[int, dict[str, Any], float]]:
    return [(trial.number, trial.params, trial.validation_log_loss) for trial in trials]


def test_same_seed_same_search_and_the_configured_params_are_trial_0() -> None:
    config = _with_tuning(load_config("fast"), trials=4)
    fitter = _fitter("xgboost", config)
    first, second = tune(fitter, _split(), config), tune(fitter, _split(), config)
    assert first.params == second.params
    assert _outcome(first.trials) == _outcome(second.trials)
    assert [trial.number for trial in first.trials] == [0, 1, 2, 3]
    assert first.trials[0].params == fitter.params
    assert len({str(trial.params) for trial in first.trials}) == 4, "the search moves away from trial 0"
    best = min(trial.validation_log_loss for trial in first.trials)
    assert first.params == next(t.params for t in first.trials if t.validation_log_loss == best)
    assert best <= first.trials[0].validation_log_loss
    assert all(trial.seconds > 0 for trial in first.trials)


def test_a_family_that_learns_from_validation_rows_is_scored_without_them() -> None:
    """Scored on rows it trained on, the least regularised logistic regression would always win."""
    config = _with_tuning(load_config("fast"), trials=3)
    fitter, split = _fitter("linear", config), _split()
    tuned = tune(fitter, split, config)
    held_out = Split(split.x_fit, split.y_fit, split.x_val[:0], split.y_val[:0])
    model = held_out.fit(fitter).model
    proba = np.clip(model.predict_proba(split.x_val)[:, 1], 1e-15, 1 - 1e-15)
    expected = -np.mean(split.y_val * np.log(proba) + (1 - split.y_val) * np.log(1 - proba))
    assert tuned.trials[0].validation_log_loss == pytest.approx(expected)


def test_the_search_never_sees_a_row_outside_the_training_span(dataset: Dataset) -> None:
    """Every row outside the fold's training rows (its test window, the purged gap, later folds) is
    poisoned: a search that read one would fail on the infinities or the impossible labels."""
    config = _with_tuning(small_config(0), trials=3)
    train, _ = next(iter(splitter(dataset, config).split(dataset.x)))
    outside = np.setdiff1d(np.arange(len(dataset)), train)
    x, y, features = dataset.x.copy(), dataset.y.copy(), dataset.features.copy()
    x[outside], y[outside], features.iloc[outside] = np.inf, np.nan, np.inf
    poisoned = replace(dataset, x=x, y=y, features=features)
    for name in ("linear", "xgboost"):
        fitter = _fitter(name, config)
        with pytest.raises(ValueError, match=r"(?i)inf"):
            fitter.fit(x[outside], dataset.y[outside], x[outside], dataset.y[outside])
        trained = fit_predictor(fitter, poisoned, train, config)
        assert len(trained.trials) == 3
        assert all(np.isfinite(trial.validation_log_loss) for trial in trained.trials)
        assert trained.params in [trial.params for trial in trained.trials]


def test_no_budget_fits_the_configured_params_without_optuna(
    dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)  # any import of it now fails
    config = small_config(0)
    assert config.model.tuning.trials == 0
    train, _ = next(iter(splitter(dataset, config).split(dataset.x)))
    for fitter in families(config):
        trained = fit_predictor(fitter, dataset, train, config)
        assert trained.trials == ()
        assert trained.params == fitter.params


def test_neither_the_families_nor_tuning_nor_walk_forward_import_optuna_or_mlflow() -> None:
    """Serving imports the families and has neither; the CLI reaches walk-forward through evaluation."""
    probe = (
        "import sys, alphapulse.training.models, alphapulse.training.tuning, alphapulse.training.walkforward; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'optuna', 'mlflow'}))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_timeout_bounds_the_search_but_trial_0_always_runs() -> None:
    config = _with_tuning(load_config("fast"), trials=100_000, timeout=1.0)
    fitter = _fitter("linear", config)
    tuned = tune(fitter, _split(400), config)
    assert 1 < len(tuned.trials) < 100_000, "the timeout, not the budget, ended the search"
    instant = tune(fitter, _split(400), _with_tuning(config, trials=5, timeout=1e-9))
    assert [trial.number for trial in instant.trials] == [0]
    assert instant.params == fitter.params


def _draw(
    name: str, configured: Params, sampler: optuna.samplers.BaseSampler, n: int
) -> list[dict[str, Any]]:
    """``n`` params from the family's space, the first of them the configured ones (enqueued as in
    ``tune``); a configured value outside its range would warn, which fails here."""
    space = get_family(name).space
    assert space is not None
    drawn: list[dict[str, Any]] = []
    study = optuna.create_study(sampler=sampler)
    study.enqueue_trial(configured.model_dump())

    def objective(trial: optuna.Trial) -> float:
        drawn.append(space(trial, configured))
        return 0.0

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        study.optimize(objective, n_trials=n)
    return drawn


@pytest.mark.parametrize("name", family_names())
@pytest.mark.parametrize("profile", ["fast", "full"])
def test_each_space_yields_params_its_family_validates(name: str, profile: str) -> None:
    configured = load_config(profile).model.families[name]
    drawn = _draw(name, configured, optuna.samplers.RandomSampler(seed=0), 25)
    assert drawn[0] == configured.model_dump()
    for params in drawn:
        assert get_family(name).params.model_validate(params).model_dump() == params
    assert len({str(params) for params in drawn}) == 25


@pytest.mark.parametrize(
    ("name", "edge"),
    [
        ("linear", {"C": 500.0}),
        ("xgboost", {"min_child_weight": 0.0, "reg_lambda": 0.0, "max_depth": 12, "learning_rate": 0.9}),
        ("catboost", {"l2_leaf_reg": 0.0, "depth": 12}),
    ],
)
def test_configured_values_outside_the_usual_ranges_are_searched_from(
    name: str, edge: dict[str, Any]
) -> None:
    """Zero weights (no log scale holds them) and values past the usual bounds stay trial 0, and TPE
    models them without a warning."""
    configured = load_config("fast").model.families[name].model_copy(update=edge)
    drawn = _draw(name, configured, optuna.samplers.TPESampler(seed=0, n_startup_trials=2), 6)
    assert drawn[0] == configured.model_dump()


@pytest.fixture
def sqlite_tracking(tmp_path: Path) -> Iterator[MlflowClient]:
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    try:
        yield MlflowClient()
    finally:
        mlflow.set_tracking_uri(previous)


def test_each_trial_is_a_child_run_of_the_active_run(sqlite_tracking: MlflowClient) -> None:
    trials = (
        Trial(0, {"C": 0.05, "max_iter": 500}, 0.6931, 0.2),
        Trial(1, {"C": 0.5, "max_iter": 500}, 0.6902, 0.3),
    )
    experiment = mlflow.create_experiment("tuning")
    with mlflow.start_run(experiment_id=experiment) as parent:
        log_trials("linear", 2, trials)
        log_trials("linear", None, trials[:1])
    children = sqlite_tracking.search_runs(
        [experiment], f"tags.mlflow.parentRunId = '{parent.info.run_id}'", order_by=["attributes.run_name"]
    )
    assert [run.info.run_name for run in children] == [
        "linear all trial 0",
        "linear fold 2 trial 0",
        "linear fold 2 trial 1",
    ]
    latest = children[2].data
    assert latest.params == {"C": "0.5", "max_iter": "500"}
    assert latest.metrics == {"validation_log_loss": 0.6902, "seconds": 0.3, "fold": 2.0}
    assert {key: latest.tags[key] for key in ("family", "fold", "trial")} == {
        "family": "linear",
        "fold": "fold 2",
        "trial": "1",
    }
    assert "fold" not in children[0].data.metrics
    with pytest.raises(RuntimeError, match="no active MLflow run"):
        log_trials("linear", 0, trials)

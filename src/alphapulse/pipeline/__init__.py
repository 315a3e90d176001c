"""The use cases, one module each: what the CLI and the Prefect flows run, and all they call.

Each takes the settings (the store, MLflow and BentoML homes, the defaults for exchange, symbols and
timeframe) and returns a typed result for its caller to render: ``ingest`` (candles and news into the
store), ``features`` (a versioned, materialized feature set), ``train`` (every family trained and gated),
``monitor`` (drift, live outcomes, retraining requests), ``export`` (models into BentoML, the Bento, the
rollout). ``open_store`` is how each of them reaches the database.
"""

from alphapulse.pipeline.store import open_store

__all__ = ["open_store"]

"""Materialize a feature matrix: a deterministic Parquet file named by version, and its store record.

Rebuilding from the same inputs must give the same bytes, so a changed file always means changed
data: the writer pins everything that could vary (compression, row-group size, statistics, the
metadata pyarrow and pandas embed) and writes through a temporary file so a crash leaves no torn file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, select

from alphapulse import __version__
from alphapulse.features.config import FeatureConfig, load_config
from alphapulse.features.matrix import FeatureMatrix
from alphapulse.store import FEATURE_SETS, FeatureSetRecord, upsert

_ROW_GROUP = 65_536
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def feature_path(data_dir: Path, symbol: str, timeframe: str, version: str) -> Path:
    return data_dir / "features" / _UNSAFE.sub("-", symbol) / timeframe / f"{version}.parquet"


def write_parquet(matrix: FeatureMatrix, path: Path) -> None:
    table = pa.Table.from_pandas(matrix.frame, preserve_index=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".parquet.partial")
    pq.write_table(
        table,
        partial,
        compression="zstd",
        compression_level=3,
        row_group_size=_ROW_GROUP,
        use_dictionary=False,
        write_statistics=True,
    )
    os.replace(partial, path)


def materialize(
    matrix: FeatureMatrix, engine: Engine, symbol: str, timeframe: str, data_dir: Path
) -> FeatureSetRecord:
    """Write ``<data_dir>/features/<symbol>/<timeframe>/<version>.parquet`` and upsert its record."""
    if timeframe != matrix.config.timeframe:
        raise ValueError(f"matrix was built for {matrix.config.timeframe!r} bars, not {timeframe!r}")
    if matrix.frame.empty:
        raise ValueError("refusing to materialize an empty feature matrix")
    path = feature_path(data_dir, symbol, timeframe, matrix.version)
    write_parquet(matrix, path)
    index = matrix.frame.index
    record = FeatureSetRecord(
        version=matrix.version,
        symbol=symbol,
        timeframe=timeframe,
        config_json=matrix.config.canonical_json(),
        library_version=__version__,
        rows=len(matrix.frame),
        columns=len(matrix.feature_columns),
        first_bar=index[0].to_pydatetime(),
        last_bar=index[-1].to_pydatetime(),
        path=str(path),
    )
    upsert(engine, FEATURE_SETS, [record.model_dump()])
    return record


def current_config(engine: Engine, symbol: str, timeframe: str) -> FeatureConfig:
    """The feature config of the instrument's newest materialized set (``features build --config`` chose
    it), else the shipped one: what a training run builds its matrix with, so the config it records on
    its model is the one the feature set was built with."""
    columns = FEATURE_SETS.c
    query = (
        select(columns.config_json)
        .where(columns.symbol == symbol, columns.timeframe == timeframe)
        .order_by(columns.built_at.desc(), columns.version)
        .limit(1)
    )
    with engine.connect() as connection:
        recorded = connection.execute(query).scalar_one_or_none()
    if recorded is None:
        return load_config(timeframe=timeframe)
    return FeatureConfig.model_validate_json(recorded)

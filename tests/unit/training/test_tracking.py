"""Where experiments put their artifacts: local roots become file URIs, every remote scheme is kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from alphapulse.settings import Settings
from alphapulse.training.tracking import artifact_location


@pytest.mark.parametrize(
    ("root", "expected"),
    [
        ("s3://bucket/mlflow/", "s3://bucket/mlflow/alphapulse-btc-usdt-1h"),
        ("mlflow-artifacts:/", "mlflow-artifacts:/alphapulse-btc-usdt-1h"),
        ("file:///srv/artifacts", "file:///srv/artifacts/alphapulse-btc-usdt-1h"),
    ],
)
def test_remote_roots_are_kept(root: str, expected: str, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, mlflow_artifact_root=root)
    assert artifact_location(settings, "alphapulse-btc-usdt-1h") == expected
    settings.ensure_dirs()
    assert not (Path.cwd() / root.split(":")[0]).exists()


def test_a_local_root_becomes_a_file_uri(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, mlflow_artifact_root=str(tmp_path / "artifacts"))
    assert artifact_location(settings, "m") == (tmp_path / "artifacts").resolve().as_uri() + "/m"

"""Admission: the file the deployer creates and removes in a Bento container decides /admitted."""

from __future__ import annotations

from pathlib import Path

from alphapulse.serving import admitted
from alphapulse.settings import Settings


def test_without_an_admission_file_a_bento_is_always_admitted(tmp_path: Path) -> None:
    assert admitted(Settings(home=tmp_path))


def test_admission_follows_the_file(tmp_path: Path) -> None:
    marker = tmp_path / "admitted"
    settings = Settings(home=tmp_path, serving_admission_file=marker)
    assert not admitted(settings), "a container the deployer has not admitted gets no traffic"
    marker.touch()
    assert admitted(settings)
    marker.unlink()
    assert not admitted(settings), "withdrawn"

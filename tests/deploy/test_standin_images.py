"""scripts/container-engine's stand-ins, on the engine: a base-image name is only ever given to the
stand-in itself, never to an image built from it.

Images inherit their base's labels, so the worker image carries the python stand-in's recipe label.
Once, on a fresh machine where the recipe's hash changed mid-session (apt refreshed the CA bundle the
python recipe includes), ``base-images`` looked a missing name up by that label, found the newest image
carrying it, the worker image, and tagged it ``python:3.12-slim``: every Bento build from then on ran as
the worker's user and failed at BentoML's ``groupadd``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.containers import Engine, engine_script, ensure_base_images, image_id

pytestmark = [pytest.mark.container]

BASE, OTHER_NAME = "python:3.12-slim", "python:3.12-slim-bookworm"  # one recipe, one stand-in


def test_a_missing_base_name_goes_to_the_stand_in_not_to_an_image_built_from_it(
    docker_engine: Engine, tmp_path: Path
) -> None:
    ensure_base_images(docker_engine, BASE, OTHER_NAME)
    standin = image_id(docker_engine, BASE)
    if (
        docker_engine.docker("image", "inspect", "--format", "{{len .RootFS.Layers}}", BASE).stdout.strip()
        != "1"
    ):
        pytest.skip(f"{BASE} is a pulled image here, not the script's stand-in")
    (tmp_path / "Dockerfile").write_text(f"FROM {BASE}\nRUN echo built from the stand-in > /child\n")
    child = "alphapulse-test/standin-child:latest"
    docker_engine.docker("build", "--network", "host", "-q", "-t", child, str(tmp_path))
    try:
        docker_engine.docker("rmi", OTHER_NAME)  # only the name: the stand-in keeps BASE
        result = engine_script("base-images", OTHER_NAME)
        assert result.returncode == 0, result.stderr
        assert image_id(docker_engine, OTHER_NAME) == standin, result.stderr
        assert image_id(docker_engine, child) != standin
    finally:
        docker_engine.docker("rmi", "-f", child, check=False)
        if image_id(docker_engine, OTHER_NAME) is None:
            docker_engine.docker("tag", standin or BASE, OTHER_NAME, check=False)

"""Paths and HCL helpers shared by the deployment tests (imported by conftest and test modules)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hcl2

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
TERRAFORM = REPO / "terraform"
PROD = TERRAFORM / "envs" / "prod"
MODULES = TERRAFORM / "modules"
CLOUD_INIT_MODULE = MODULES / "compute" / "modules" / "cloud-init"


def _strip_quotes(value: Any) -> Any:
    """Normalise python-hcl2 output across versions: v8 keeps quotes and __is_block__ markers."""
    if isinstance(value, dict):
        return {
            _strip_quotes(k): _strip_quotes(v)
            for k, v in value.items()
            if k not in ("__is_block__", "__comments__", "__inline_comments__")
        }
    if isinstance(value, list):
        return [_strip_quotes(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def load_hcl(path: Path) -> dict[str, Any]:
    options_cls = getattr(hcl2, "SerializationOptions", None)
    with path.open() as handle:
        if options_cls is None:
            return _strip_quotes(hcl2.load(handle))
        options = options_cls(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
        return _strip_quotes(hcl2.load(handle, serialization_options=options))


def load_hcl_dir(directory: Path) -> dict[str, list[Any]]:
    """All top-level blocks of every *.tf file in one module directory, merged by block type."""
    merged: dict[str, list[Any]] = {}
    for tf in sorted(directory.glob("*.tf")):
        for block_type, blocks in load_hcl(tf).items():
            merged.setdefault(block_type, []).extend(blocks)
    return merged


def resources(
    module: dict[str, list[Any]], resource_type: str, kind: str = "resource"
) -> dict[str, dict[str, Any]]:
    """name -> body of every `resource "<resource_type>" "<name>"` (or `data`, with kind) in a module."""
    found: dict[str, dict[str, Any]] = {}
    for block in module.get(kind, []):
        found.update(block.get(resource_type, {}))
    return found


def blocks(module: dict[str, list[Any]], block_type: str) -> dict[str, dict[str, Any]]:
    """name -> body for labelled blocks such as variable, output, module, data."""
    found: dict[str, dict[str, Any]] = {}
    for block in module.get(block_type, []):
        found.update(block)
    return found


def locals_of(module: dict[str, list[Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for block in module.get("locals", []):
        merged.update(block)
    return merged


def module_dirs() -> list[Path]:
    """Every Terraform module directory of the repository (environments included)."""
    return sorted({tf.parent for tf in TERRAFORM.rglob("*.tf") if ".terraform" not in tf.parts})

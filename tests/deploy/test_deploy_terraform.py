"""Security and hygiene properties of terraform/, read from the HCL itself (python-hcl2).

Variable validations are checked by evaluating them with the real `terraform console` on a
copy of the variables file: no providers are needed for that, so it runs offline.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from deploy_support import (
    MODULES,
    PROD,
    REPO,
    TERRAFORM,
    blocks,
    load_hcl,
    load_hcl_dir,
    module_dirs,
    resources,
)

ANYWHERE = {"0.0.0.0/0", "::/0"}
SECRET_NAME = re.compile(r"(password|passwd|secret|token|api_key|private_key|access_key|hash)", re.I)


def _module(name: str) -> dict[str, list[Any]]:
    return load_hcl_dir(MODULES / name)


def _only(found: dict[str, dict[str, Any]]) -> dict[str, Any]:
    assert len(found) == 1, f"expected exactly one resource, got {sorted(found)}"
    return next(iter(found.values()))


# --- formatting and structure ---------------------------------------------------------------


def test_terraform_fmt_check_passes() -> None:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not installed")
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"terraform fmt -recursive needed:\n{result.stdout}"


@pytest.mark.parametrize("directory", module_dirs(), ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_every_module_has_the_standard_layout(directory: Path) -> None:
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
        assert (directory / name).is_file(), f"{directory.relative_to(REPO)} lacks {name}"


@pytest.mark.parametrize("directory", module_dirs(), ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_every_variable_and_output_is_documented_and_typed(directory: Path) -> None:
    module = load_hcl_dir(directory)
    for name, body in blocks(module, "variable").items():
        assert body.get("description"), f"variable {name} has no description"
        assert body.get("type"), f"variable {name} has no type"
    for name, body in blocks(module, "output").items():
        assert body.get("description"), f"output {name} has no description"


@pytest.mark.parametrize("directory", module_dirs(), ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_providers_and_terraform_versions_are_pinned(directory: Path) -> None:
    module = load_hcl_dir(directory)
    settings = module.get("terraform", [])
    assert any(block.get("required_version") for block in settings), "required_version missing"
    allowed_sources = {"hetznercloud/hcloud", "hashicorp/aws", "hashicorp/random"}
    used_prefixes = {
        rtype.split("_", 1)[0]
        for block in module.get("resource", []) + module.get("data", [])
        for rtype in block
    }
    declared: dict[str, dict[str, str]] = {}
    for block in settings:
        for providers in block.get("required_providers", []):
            declared.update(providers)
    for local_name, spec in declared.items():
        assert spec["source"] in allowed_sources, f"unexpected provider source {spec['source']}"
        # "~> 1.49" or an exact "1.49.0": never open-ended (">=") or missing.
        assert re.fullmatch(r"(~>\s*)?\d+\.\d+(\.\d+)?", spec["version"]), (
            f"{local_name} version {spec['version']!r} is not pinned with ~> or exactly"
        )
    assert used_prefixes <= set(declared), f"providers used but not pinned: {used_prefixes - set(declared)}"


def test_prod_uses_the_two_required_providers() -> None:
    module = load_hcl_dir(PROD)
    declared: dict[str, dict[str, str]] = {}
    for block in module["terraform"]:
        for providers in block.get("required_providers", []):
            declared.update(providers)
    assert declared["hcloud"]["source"] == "hetznercloud/hcloud"
    assert declared["aws"]["source"] == "hashicorp/aws"


# --- remote state ---------------------------------------------------------------------------


def test_remote_state_is_s3_encrypted_and_locked() -> None:
    module = load_hcl_dir(PROD)
    backends = [b["backend"] for b in module["terraform"] if "backend" in b]
    assert len(backends) == 1
    s3 = backends[0][0]["s3"]
    assert s3["encrypt"] is True
    assert s3["use_lockfile"] is True, "state locking (S3 lock file) must be on"
    assert s3["key"].endswith(".tfstate")
    # Per-operator values stay out of the repository (partial backend configuration).
    assert "bucket" not in s3
    assert (PROD / "backend.hcl.example").is_file()


# --- storage --------------------------------------------------------------------------------


def test_bucket_public_access_is_fully_blocked() -> None:
    storage = _module("storage")
    block = _only(resources(storage, "aws_s3_bucket_public_access_block"))
    for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert block[flag] is True, f"{flag} must be true"
    assert block["bucket"] == "${aws_s3_bucket.this.id}"
    ownership = _only(resources(storage, "aws_s3_bucket_ownership_controls"))
    assert ownership["rule"][0]["object_ownership"] == "BucketOwnerEnforced", "ACLs must be disabled"
    assert not resources(storage, "aws_s3_bucket_acl"), "no ACLs: access is by policy only"


def test_bucket_is_encrypted_and_versioned() -> None:
    storage = _module("storage")
    sse = _only(resources(storage, "aws_s3_bucket_server_side_encryption_configuration"))
    default = sse["rule"][0]["apply_server_side_encryption_by_default"][0]
    assert default["sse_algorithm"] in {"AES256", "aws:kms", "aws:kms:dsse"}
    versioning = _only(resources(storage, "aws_s3_bucket_versioning"))
    assert versioning["versioning_configuration"][0]["status"] == "Enabled"
    bucket = _only(resources(storage, "aws_s3_bucket"))
    assert bucket.get("force_destroy", False) is False, "artifacts must not vanish with a destroy"


def test_bucket_lifecycle_tiers_and_expires_noncurrent_versions() -> None:
    storage = _module("storage")
    lifecycle = _only(resources(storage, "aws_s3_bucket_lifecycle_configuration"))
    rules = lifecycle["rule"]
    assert all(rule["status"] == "Enabled" for rule in rules)
    assert all("filter" in rule for rule in rules), "every rule needs an explicit filter"
    transitions = [t for rule in rules for t in rule.get("transition", [])]
    assert any(
        t["storage_class"] in {"STANDARD_IA", "INTELLIGENT_TIERING", "GLACIER_IR"} for t in transitions
    )
    assert any(rule.get("noncurrent_version_expiration") for rule in rules)
    assert any(rule.get("abort_incomplete_multipart_upload") for rule in rules)


def test_bucket_policy_only_denies_and_requires_tls() -> None:
    storage = _module("storage")
    document = resources(storage, "aws_iam_policy_document", kind="data")["bucket"]
    statements = document["statement"]
    assert all(s.get("effect") == "Deny" for s in statements), "the bucket policy must grant nothing"
    tls = [s for s in statements if s["condition"][0]["variable"] == "aws:SecureTransport"]
    assert tls
    assert tls[0]["condition"][0]["values"] == ["false"]


@pytest.mark.parametrize("policy", ["stack", "ci"])
def test_iam_policies_are_limited_to_the_bucket(policy: str) -> None:
    storage = _module("storage")
    document = resources(storage, "aws_iam_policy_document", kind="data")[policy]
    for statement in document["statement"]:
        assert statement.get("effect", "Allow") == "Allow"
        for action in statement["actions"]:
            assert action.startswith("s3:"), f"{policy}: non-S3 action {action}"
            assert "*" not in action, f"{policy}: broad action {action}"
        for resource in statement["resources"]:
            assert resource.startswith("${aws_s3_bucket.this.arn}"), (
                f"{policy}: resource {resource} is not the bucket"
            )
    user_policy = resources(storage, "aws_iam_user_policy")[policy]
    assert user_policy["policy"] == f"${{data.aws_iam_policy_document.{policy}.json}}"


def test_ci_user_can_only_write_bento_exports() -> None:
    storage = _module("storage")
    document = resources(storage, "aws_iam_policy_document", kind="data")["ci"]
    actions = {a for s in document["statement"] for a in s["actions"]}
    assert actions <= {"s3:PutObject", "s3:AbortMultipartUpload"}
    assert all(r.endswith("/*") and "bentos" in r for s in document["statement"] for r in s["resources"])


def test_storage_outputs_what_the_stack_needs() -> None:
    outputs = blocks(_module("storage"), "output")
    for name in ("bucket_name", "bucket_region", "stack_access_key_id", "stack_secret_access_key"):
        assert name in outputs
    for name, body in outputs.items():
        if "secret" in name:
            assert body.get("sensitive") is True, f"output {name} must be sensitive"


# --- network --------------------------------------------------------------------------------


def test_firewall_allows_only_ssh_from_admins_and_web_from_anywhere() -> None:
    firewall = _only(resources(_module("network"), "hcloud_firewall"))
    rules = firewall["rule"]
    opened: dict[tuple[str, str], Any] = {}
    for rule in rules:
        assert rule["direction"] == "in", "outbound stays open: no outbound rules"
        assert re.fullmatch(r"\d+", rule["port"]), f"port ranges or 'any' are not allowed: {rule['port']}"
        opened[(rule["protocol"], rule["port"])] = rule["source_ips"]
    assert set(opened) == {("tcp", "22"), ("tcp", "80"), ("tcp", "443"), ("udp", "443")}
    assert opened[("tcp", "22")] == "${var.admin_cidrs}", "SSH must come from admin_cidrs only"
    for key in (("tcp", "80"), ("tcp", "443"), ("udp", "443")):
        assert opened[key] == "${local.anywhere}"
    anywhere = load_hcl(MODULES / "network" / "main.tf")["locals"][0]["anywhere"]
    assert set(anywhere) == ANYWHERE


def test_server_gets_the_firewall_and_private_network() -> None:
    compute = _module("compute")
    server = _only(resources(compute, "hcloud_server"))
    assert server["firewall_ids"] == "${var.firewall_ids}"
    assert server["network"][0]["network_id"] == "${var.network_id}"
    assert server["user_data"] == "${module.cloud_init.user_data}"
    assert server["ssh_keys"] == ["${hcloud_ssh_key.admin.id}"]
    variables = blocks(compute, "variable")
    assert variables["server_type"]["default"] == "cpx21"
    assert "location" in variables
    prod_compute = blocks(load_hcl_dir(PROD), "module")["compute"]
    assert prod_compute["firewall_ids"] == ["${module.network.firewall_id}"]


@pytest.mark.parametrize(
    ("cidrs", "error"),
    [
        ('["0.0.0.0/0"]', "whole internet"),
        ('["203.0.113.7/32", "::/0"]', "whole internet"),
        ("[]", "non-empty"),
        ('["not-a-cidr"]', "valid CIDRs"),
    ],
)
def test_admin_cidrs_validation_rejects_open_ssh(tf_console, copy_module, cidrs: str, error: str) -> None:
    for source in (MODULES / "network", PROD):
        directory = copy_module(source, ["variables.tf"])
        with pytest.raises(AssertionError, match=error):
            # Later -var flags win, so the value under test comes last.
            tf_console(directory, "var.admin_cidrs", *_required_vars(source), "-var", f"admin_cidrs={cidrs}")


def test_admin_cidrs_validation_accepts_admin_addresses(tf_console, copy_module) -> None:
    directory = copy_module(MODULES / "network", ["variables.tf"])
    out = tf_console(
        directory,
        "var.admin_cidrs",
        "-var",
        'admin_cidrs=["203.0.113.7/32", "2001:db8::/48"]',
        "-var",
        "name=x",
    )
    assert "203.0.113.7/32" in out


def _required_vars(source: Path) -> list[str]:
    if source == PROD:
        return ["-var-file", str(PROD / "terraform.tfvars.example"), "-var", f"ui_basic_auth_hash={_BCRYPT}"]
    return ["-var", "name=x"]


# A syntactically valid bcrypt hash of a throwaway password, for validation checks only.
_BCRYPT = "$2a$14$" + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0"


def test_tfvars_example_passes_every_validation_once_the_hash_is_filled_in(tf_console, copy_module) -> None:
    directory = copy_module(PROD, ["variables.tf"])
    out = tf_console(directory, "var.domain", *_required_vars(PROD))
    assert "example.com" in out


def test_tfvars_example_placeholder_hash_is_rejected(tf_console, copy_module) -> None:
    directory = copy_module(PROD, ["variables.tf"])
    with pytest.raises(AssertionError, match="bcrypt"):
        tf_console(directory, "var.domain", "-var-file", str(PROD / "terraform.tfvars.example"))


def test_tfvars_example_sets_every_required_variable() -> None:
    variables = blocks(load_hcl_dir(PROD), "variable")
    example = load_hcl(PROD / "terraform.tfvars.example")
    assert set(example) <= set(variables), f"unknown variables: {set(example) - set(variables)}"
    required = {name for name, body in variables.items() if "default" not in body}
    assert required <= set(example), f"missing from the example: {required - set(example)}"
    for name, body in variables.items():
        if SECRET_NAME.search(name) and name != "ui_basic_auth_hash":
            assert name not in example, f"secret {name} belongs in the environment, not in tfvars"
            assert body.get("sensitive") is True, f"variable {name} must be sensitive"


# --- no secret literals ---------------------------------------------------------------------

_SECRET_PATTERNS = {
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "bcrypt hash": re.compile(r"\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}"),
    "GitHub token": re.compile(r"\b(ghp|gho|ghs|github_pat)_[A-Za-z0-9_]{20,}"),
    "Hetzner token": re.compile(r"\b[A-Za-z0-9]{64}\b"),
}


def _infra_files() -> list[Path]:
    roots = [REPO / "terraform", REPO / "deploy", REPO / ".github" / "workflows"]
    files = [p for root in roots for p in root.rglob("*") if p.is_file() and ".terraform" not in p.parts]
    return [p for p in files if p.name != ".env"]


@pytest.mark.parametrize("path", _infra_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_secret_literals_in_infrastructure_files(path: Path) -> None:
    text = path.read_text(errors="replace")
    for label, pattern in _SECRET_PATTERNS.items():
        match = pattern.search(text)
        assert match is None, f"{label} literal in {path.relative_to(REPO)}: {match.group(0)[:12]}..."


@pytest.mark.parametrize("directory", module_dirs(), ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_secret_attributes_are_never_string_literals(directory: Path) -> None:
    """Any attribute or default whose name says secret must come from an expression, not a literal."""

    def walk(node: Any, trail: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and SECRET_NAME.search(str(key)) and value and "${" not in value:
                    raise AssertionError(f"{directory.name}: {trail}.{key} is a literal {value!r}")
                walk(value, f"{trail}.{key}")
        elif isinstance(node, list):
            for item in node:
                walk(item, trail)

    module = load_hcl_dir(directory)
    # Variables may not default to a secret value either (empty string = "not used").
    for name, body in blocks(module, "variable").items():
        if SECRET_NAME.search(name) and isinstance(body.get("default"), str):
            assert body["default"] == "", f"variable {name} defaults to a literal secret"
    walk({k: v for k, v in module.items() if k != "variable"}, directory.name)

# tflint configuration for every module under terraform/ (run by .github/workflows/infra.yml
# with `tflint --recursive --config "$PWD/.tflint.hcl"`).

config {
  call_module_type = "local"
}

# Bundled ruleset, all rules: documented and typed variables/outputs, pinned providers,
# required_version everywhere, naming, no unused declarations, standard module layout.
plugin "terraform" {
  enabled = true
  preset  = "all"
}

plugin "aws" {
  enabled = true
  version = "0.38.0"
  source  = "github.com/terraform-linters/tflint-ruleset-aws"
}

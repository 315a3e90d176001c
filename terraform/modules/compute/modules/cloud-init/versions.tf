# No providers: this module only renders text, so tests can evaluate it with
# `terraform console` without downloading anything.
terraform {
  required_version = ">= 1.10.0, < 2.0.0"
}

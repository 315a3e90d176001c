# Remote state in S3, locked with a lock object next to the state (use_lockfile).
# The state holds generated secrets, so the bucket must be private, versioned and
# encrypted (docs/DEPLOY.md creates it). Bucket and region are per operator:
#   terraform init -backend-config=backend.hcl   (copy backend.hcl.example)
terraform {
  backend "s3" {
    key          = "alphapulse/prod/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}

# Credentials come from the environment, never from files in the repo:
#   HCLOUD_TOKEN                      (Hetzner Cloud project API token, read & write)
#   AWS_PROFILE or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
provider "hcloud" {}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = local.tags
  }
}

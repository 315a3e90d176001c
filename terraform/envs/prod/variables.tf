variable "environment" {
  description = "Environment name, used in resource names and labels."
  type        = string
  default     = "prod"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.environment))
    error_message = "environment must be 2-16 lower-case letters, digits or hyphens."
  }
}

variable "location" {
  description = "Hetzner location: fsn1 (Falkenstein), nbg1 (Nuremberg), hel1 (Helsinki), ash, hil, sin."
  type        = string
  default     = "fsn1"

  validation {
    condition     = contains(["fsn1", "nbg1", "hel1", "ash", "hil", "sin"], var.location)
    error_message = "location must be one of fsn1, nbg1, hel1, ash, hil, sin."
  }
}

variable "server_type" {
  description = "Hetzner server type (see docs/COST.md); cpx31 if training runs out of memory."
  type        = string
  default     = "cpx21"

  validation {
    condition     = can(regex("^c[apx]x[0-9]{2}$", var.server_type))
    error_message = "server_type must be a Hetzner shared-vCPU type such as cpx21, cpx31 or cax21."
  }
}

variable "volume_size" {
  description = "Size in GB of the data volume (Postgres, Caddy certificates)."
  type        = number
  default     = 20

  validation {
    condition     = var.volume_size >= 10 && var.volume_size <= 1000
    error_message = "volume_size must be between 10 and 1000 GB."
  }
}

variable "volume_delete_protection" {
  description = "Protect the data volume from deletion; set false and apply before a full destroy."
  type        = bool
  default     = true
}

variable "admin_cidrs" {
  description = "Addresses allowed to SSH to the server, e.g. [\"203.0.113.7/32\"]."
  type        = list(string)

  validation {
    condition     = length(var.admin_cidrs) > 0 && alltrue([for c in var.admin_cidrs : can(cidrhost(c, 0))])
    error_message = "admin_cidrs must be a non-empty list of valid CIDRs."
  }

  validation {
    condition     = !anytrue([for c in var.admin_cidrs : contains(["0.0.0.0/0", "::/0"], c)])
    error_message = "SSH must not be open to the whole internet; list your own addresses."
  }
}

variable "ssh_public_key" {
  description = "OpenSSH public key for root and the deploy user."
  type        = string

  validation {
    condition     = can(regex("^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/=]+( .*)?$", trimspace(var.ssh_public_key)))
    error_message = "ssh_public_key must be an OpenSSH public key line (ssh-ed25519 AAAA... comment)."
  }
}

variable "domain" {
  description = "Base DNS domain; the stack answers on api.<domain>, prefect.<domain> and mlflow.<domain>."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain))
    error_message = "domain must be a lower-case DNS name such as example.com."
  }
}

variable "acme_email" {
  description = "Contact address for the Let's Encrypt account (expiry warnings)."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s']+@[^@\\s']+\\.[^@\\s']+$", var.acme_email))
    error_message = "acme_email must be an e-mail address."
  }
}

variable "image_repository" {
  description = "Registry path the release workflow pushes to, e.g. ghcr.io/acme (lower-case)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+$", var.image_repository))
    error_message = "image_repository must look like ghcr.io/owner, in lower case."
  }
}

variable "bento_image_tag" {
  description = "Tag of <image_repository>/alphapulse the server starts with (a released version, e.g. 0.3.1)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.bento_image_tag))
    error_message = "bento_image_tag must be a valid image tag."
  }
}

variable "runtime_image_tag" {
  description = "Tag of <image_repository>/alphapulse-runtime (Prefect + MLflow image), normally the same release."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.runtime_image_tag))
    error_message = "runtime_image_tag must be a valid image tag."
  }
}

variable "ui_basic_auth_user" {
  description = "Login name for the Prefect and MLflow UIs."
  type        = string
  default     = "admin"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{3,32}$", var.ui_basic_auth_user))
    error_message = "ui_basic_auth_user must be 3-32 letters, digits, dots, underscores or hyphens."
  }
}

variable "ui_basic_auth_hash" {
  description = "bcrypt hash of the UI password, from `caddy hash-password` (the password itself never reaches Terraform)."
  type        = string
  sensitive   = true

  validation {
    condition     = can(regex("^\\$2[aby]\\$[0-9]{2}\\$[./A-Za-z0-9]{53}$", var.ui_basic_auth_hash))
    error_message = "ui_basic_auth_hash must be a bcrypt hash ($2a$14$...)."
  }
}

variable "aws_region" {
  description = "AWS region of the artifacts bucket; eu-central-1 (Frankfurt) is closest to the Hetzner EU locations."
  type        = string
  default     = "eu-central-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.aws_region))
    error_message = "aws_region must be an AWS region name such as eu-central-1."
  }
}

variable "ghcr_username" {
  description = "GitHub user for pulling private images; leave empty when the GHCR packages are public."
  type        = string
  default     = ""
}

variable "ghcr_token" {
  description = "read:packages token for private GHCR images (pass via TF_VAR_ghcr_token, not tfvars)."
  type        = string
  default     = ""
  sensitive   = true
}

variable "alert_webhook_url" {
  description = "Where Alertmanager posts the stack's alerts (Slack-style JSON with readable text): a Slack or Mattermost incoming webhook, or any HTTPS endpoint that takes a POST."
  type        = string
  sensitive   = true

  validation {
    condition     = can(regex("^https://[^\\s/]+", var.alert_webhook_url))
    error_message = "alert_webhook_url must be an https:// URL."
  }
}

variable "name" {
  description = "Prefix for IAM names, e.g. alphapulse-prod."
  type        = string
}

variable "bucket_name" {
  description = "Globally unique S3 bucket name for MLflow artifacts, Bento exports and Prefect results."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)."
  }
}

variable "transition_to_ia_days" {
  description = "Days after which objects move to STANDARD_IA (30 is the minimum S3 allows)."
  type        = number
  default     = 30

  validation {
    condition     = var.transition_to_ia_days >= 30
    error_message = "S3 moves objects to STANDARD_IA after 30 days at the earliest."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which overwritten or deleted object versions are removed for good."
  type        = number
  default     = 90

  # Noncurrent versions move to STANDARD_IA after 30 days; S3 requires expiry to come later.
  validation {
    condition     = var.noncurrent_version_expiration_days > 30
    error_message = "noncurrent_version_expiration_days must be more than 30."
  }
}

variable "prefect_results_expiration_days" {
  description = "Days after which Prefect task results (prefect-results/) expire; they are caches, not records."
  type        = number
  default     = 30

  validation {
    condition     = var.prefect_results_expiration_days >= 1
    error_message = "prefect_results_expiration_days must be at least 1."
  }
}

variable "tags" {
  description = "Tags put on every resource (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}

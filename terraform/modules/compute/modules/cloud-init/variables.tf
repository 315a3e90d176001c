variable "deploy_user" {
  description = "Unprivileged user that owns the stack and runs docker compose (member of the docker group)."
  type        = string
  default     = "deploy"
}

variable "deploy_uid" {
  description = "Numeric uid/gid of deploy_user; containers that write bind mounts (Caddy) run as it."
  type        = number
  default     = 1000
}

variable "ssh_authorized_keys" {
  description = "Public keys allowed to log in as deploy_user."
  type        = list(string)
}

variable "stack_dir" {
  description = "Directory on the server that holds docker-compose.yml and the rest of deploy/."
  type        = string
  default     = "/opt/alphapulse"
}

variable "stack_files" {
  description = "Files of deploy/ to write under stack_dir: relative path => content. *.sh files become executable."
  type        = map(string)
}

variable "stack_env" {
  description = "Variables written to stack_dir/.env (mode 0600) for docker compose: NAME => value."
  type        = map(string)
  sensitive   = true

  validation {
    condition     = alltrue([for k in keys(var.stack_env) : can(regex("^[A-Z][A-Z0-9_]*$", k))])
    error_message = "stack_env keys must be upper-case environment variable names."
  }

  validation {
    # Values are written single-quoted, which compose takes literally.
    condition     = alltrue([for v in values(var.stack_env) : !can(regex("['\\n]", v))])
    error_message = "stack_env values must not contain single quotes or newlines."
  }
}

variable "systemd_unit" {
  description = "Content of the systemd unit that runs the stack (deploy/systemd/alphapulse.service)."
  type        = string
}

variable "data_dir" {
  description = "Directory for persistent data (Postgres, Caddy certificates); the data volume is mounted here."
  type        = string
  default     = "/srv/alphapulse"
}

variable "data_dirs" {
  description = "Subdirectories of data_dir to create: relative path => \"uid:gid\" owner (the container user that writes it)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for o in values(var.data_dirs) : can(regex("^[0-9]+:[0-9]+$", o))])
    error_message = "data_dirs owners must be numeric \"uid:gid\"."
  }
}

variable "volume_device" {
  description = "Block device of the Hetzner volume to mount on data_dir; empty keeps data on the root disk."
  type        = string
  default     = ""
}

variable "swap_size" {
  description = "Size of the swap file (cloud-init syntax, e.g. 2G); guards small servers against OOM kills during training."
  type        = string
  default     = "2G"
}

variable "ghcr_username" {
  description = "GitHub user for `docker login ghcr.io`; leave empty when the images are public."
  type        = string
  default     = ""
}

variable "ghcr_token" {
  description = "Read-only (read:packages) GitHub token for private images; empty when the images are public."
  type        = string
  default     = ""
  sensitive   = true
}

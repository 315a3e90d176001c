variable "name" {
  description = "Prefix for every resource name, e.g. alphapulse-prod."
  type        = string
}

variable "location" {
  description = "Hetzner location of the server, its IPs and its volume."
  type        = string
  default     = "fsn1"

  validation {
    condition     = contains(["fsn1", "nbg1", "hel1", "ash", "hil", "sin"], var.location)
    error_message = "location must be one of fsn1, nbg1, hel1, ash, hil, sin."
  }
}

variable "server_type" {
  description = "Hetzner server type; cpx21 = 3 vCPU, 4 GB RAM, 80 GB disk."
  type        = string
  default     = "cpx21"
}

variable "image" {
  description = "OS image; cloud-init installs docker.io and docker-compose-v2 from its archive."
  type        = string
  default     = "ubuntu-24.04"
}

variable "ssh_public_key" {
  description = "Public key for root and the deploy user (registered as a Hetzner SSH key)."
  type        = string
}

variable "network_id" {
  description = "Private network to attach the server to (modules/network)."
  type        = string
}

variable "private_ip" {
  description = "Fixed address of the server in the private subnet."
  type        = string
  default     = "10.20.1.10"
}

variable "firewall_ids" {
  description = "Firewalls applied to the server's public interfaces (modules/network)."
  type        = list(string)
}

variable "volume_size" {
  description = "Size in GB of the data volume (Postgres, Caddy certificates) that survives server rebuilds."
  type        = number
  default     = 20

  validation {
    condition     = var.volume_size >= 10
    error_message = "Hetzner volumes are at least 10 GB."
  }
}

variable "volume_delete_protection" {
  description = "Keep Hetzner from deleting the data volume; set false (and apply) before a full `terraform destroy`."
  type        = bool
  default     = true
}

variable "stack_files" {
  description = "Files of deploy/ written to /opt/alphapulse: relative path => content."
  type        = map(string)
}

variable "stack_env" {
  description = "Variables for /opt/alphapulse/.env (secrets included): NAME => value."
  type        = map(string)
  sensitive   = true
}

variable "systemd_unit" {
  description = "Content of deploy/systemd/alphapulse.service."
  type        = string
}

variable "data_dirs" {
  description = "Directories to create on the data volume: relative path => \"uid:gid\"."
  type        = map(string)
}

variable "ghcr_username" {
  description = "GitHub user for pulling private images from GHCR; empty for public images."
  type        = string
  default     = ""
}

variable "ghcr_token" {
  description = "read:packages token for private GHCR images; empty for public images."
  type        = string
  default     = ""
  sensitive   = true
}

variable "labels" {
  description = "Hetzner labels put on every resource."
  type        = map(string)
  default     = {}
}

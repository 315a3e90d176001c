variable "name" {
  description = "Prefix for every resource name, e.g. alphapulse-prod."
  type        = string
}

variable "admin_cidrs" {
  description = "CIDRs allowed to reach SSH (22/tcp). Nothing else may open SSH."
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

variable "network_zone" {
  description = "Hetzner network zone of the private subnet; must contain the server's location (eu-central for fsn1/nbg1/hel1)."
  type        = string
  default     = "eu-central"
}

variable "ip_range" {
  description = "Address range of the private network."
  type        = string
  default     = "10.20.0.0/16"
}

variable "subnet_ip_range" {
  description = "Address range of the server subnet, inside ip_range."
  type        = string
  default     = "10.20.1.0/24"
}

variable "labels" {
  description = "Hetzner labels put on every resource."
  type        = map(string)
  default     = {}
}

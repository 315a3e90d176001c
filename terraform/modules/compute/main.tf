# The AlphaPulse server: one Hetzner VM that runs deploy/docker-compose.yml.
#
# The public IPs and the data volume are separate resources so that the VM itself is
# disposable: `terraform apply -replace=module.compute.hcloud_server.this` rebuilds it
# from cloud-init in a few minutes with the same DNS records and the same Postgres data.

locals {
  # Primary IPs are bound to a datacenter; one per location is enough here.
  datacenters = {
    fsn1 = "fsn1-dc14"
    nbg1 = "nbg1-dc3"
    hel1 = "hel1-dc2"
    ash  = "ash-dc1"
    hil  = "hil-dc1"
    sin  = "sin-dc1"
  }
  data_dir = "/srv/alphapulse"
}

resource "hcloud_ssh_key" "admin" {
  name       = "${var.name}-admin"
  public_key = var.ssh_public_key
  labels     = var.labels
}

resource "hcloud_primary_ip" "ipv4" {
  name          = "${var.name}-ipv4"
  type          = "ipv4"
  datacenter    = local.datacenters[var.location]
  assignee_type = "server"
  auto_delete   = false
  labels        = var.labels
}

resource "hcloud_primary_ip" "ipv6" {
  name          = "${var.name}-ipv6"
  type          = "ipv6"
  datacenter    = local.datacenters[var.location]
  assignee_type = "server"
  auto_delete   = false
  labels        = var.labels
}

resource "hcloud_volume" "data" {
  name     = "${var.name}-data"
  size     = var.volume_size
  location = var.location
  format   = "ext4"
  labels   = var.labels

  # Holds the databases: deleting it takes a deliberate variable change first.
  delete_protection = var.volume_delete_protection
}

module "cloud_init" {
  source = "./modules/cloud-init"

  ssh_authorized_keys = [var.ssh_public_key]
  stack_files         = var.stack_files
  stack_env           = var.stack_env
  systemd_unit        = var.systemd_unit
  data_dir            = local.data_dir
  data_dirs           = var.data_dirs
  volume_device       = "/dev/disk/by-id/scsi-0HC_Volume_${hcloud_volume.data.id}"
  ghcr_username       = var.ghcr_username
  ghcr_token          = var.ghcr_token
}

resource "hcloud_server" "this" {
  name         = var.name
  server_type  = var.server_type
  image        = var.image
  location     = var.location
  ssh_keys     = [hcloud_ssh_key.admin.id]
  firewall_ids = var.firewall_ids
  user_data    = module.cloud_init.user_data
  labels       = var.labels

  public_net {
    ipv4_enabled = true
    ipv4         = hcloud_primary_ip.ipv4.id
    ipv6_enabled = true
    ipv6         = hcloud_primary_ip.ipv6.id
  }

  network {
    network_id = var.network_id
    ip         = var.private_ip
  }

  # cloud-init only runs at first boot, so new user data means a new server. That is
  # never done implicitly (a release bumping the image tags in tfvars must not rebuild
  # the box): stack changes roll out with an explicit
  # `terraform apply -replace=module.compute.hcloud_server.this` (docs/DEPLOY.md).
  lifecycle {
    ignore_changes = [user_data]
  }
}

resource "hcloud_volume_attachment" "data" {
  volume_id = hcloud_volume.data.id
  server_id = hcloud_server.this.id
  automount = false # cloud-init mounts it (with an fstab entry) once the device shows up
}

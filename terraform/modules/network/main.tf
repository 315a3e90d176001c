# Private network for the server(s) and the firewall in front of their public interfaces.
#
# A Hetzner Cloud firewall drops every inbound packet that no rule allows, so the rules
# below are the whole list of what is reachable: SSH from admin_cidrs, HTTP(S) from
# anywhere (Caddy, ACME challenges, HTTP/3). Outbound stays open (no outbound rules).

locals {
  anywhere = ["0.0.0.0/0", "::/0"]
}

resource "hcloud_network" "this" {
  name     = "${var.name}-net"
  ip_range = var.ip_range
  labels   = var.labels
}

resource "hcloud_network_subnet" "servers" {
  network_id   = hcloud_network.this.id
  type         = "cloud"
  network_zone = var.network_zone
  ip_range     = var.subnet_ip_range
}

resource "hcloud_firewall" "this" {
  name   = "${var.name}-fw"
  labels = var.labels

  rule {
    description = "SSH from admins only"
    direction   = "in"
    protocol    = "tcp"
    port        = "22"
    source_ips  = var.admin_cidrs
  }

  rule {
    description = "HTTP: ACME HTTP-01 challenges and redirect to HTTPS"
    direction   = "in"
    protocol    = "tcp"
    port        = "80"
    source_ips  = local.anywhere
  }

  rule {
    description = "HTTPS"
    direction   = "in"
    protocol    = "tcp"
    port        = "443"
    source_ips  = local.anywhere
  }

  rule {
    description = "HTTP/3 (QUIC), served by Caddy on the same port"
    direction   = "in"
    protocol    = "udp"
    port        = "443"
    source_ips  = local.anywhere
  }
}

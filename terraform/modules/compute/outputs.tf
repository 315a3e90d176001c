output "server_id" {
  description = "ID of the Hetzner server."
  value       = hcloud_server.this.id
}

output "ipv4_address" {
  description = "Public IPv4 address (stable across server rebuilds): the DNS A records."
  value       = hcloud_primary_ip.ipv4.ip_address
}

output "ipv6_address" {
  description = "Public IPv6 address (::1 of the stable primary /64): the DNS AAAA records."
  value       = hcloud_server.this.ipv6_address
}

output "private_ip" {
  description = "Address of the server in the private network."
  value       = var.private_ip
}

output "volume_id" {
  description = "ID of the data volume."
  value       = hcloud_volume.data.id
}

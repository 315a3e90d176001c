output "network_id" {
  description = "ID of the private network."
  value       = hcloud_network.this.id
}

output "subnet_id" {
  description = "ID of the server subnet (servers must attach after it exists)."
  value       = hcloud_network_subnet.servers.id
}

output "subnet_ip_range" {
  description = "Address range of the server subnet."
  value       = hcloud_network_subnet.servers.ip_range
}

output "firewall_id" {
  description = "ID of the firewall to attach to public servers."
  value       = hcloud_firewall.this.id
}

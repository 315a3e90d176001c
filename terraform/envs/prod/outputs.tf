output "server_ipv4" {
  description = "Public IPv4 of the server (stable across rebuilds)."
  value       = module.compute.ipv4_address
}

output "server_ipv6" {
  description = "Public IPv6 of the server."
  value       = module.compute.ipv6_address
}

output "dns_records" {
  description = "A and AAAA records to create at your DNS provider."
  value = {
    for role, host in local.hostnames : host => {
      A    = module.compute.ipv4_address
      AAAA = module.compute.ipv6_address
    }
  }
}

output "urls" {
  description = "Where the services answer once DNS and certificates are in place."
  value       = { for role, host in local.hostnames : role => "https://${host}" }
}

output "ssh_deploy" {
  description = "Log in as the deploy user (owner of /opt/alphapulse)."
  value       = "ssh deploy@${module.compute.ipv4_address}"
}

output "bucket_name" {
  description = "Artifacts bucket (MLflow artifacts, Bento exports, Prefect results)."
  value       = module.storage.bucket_name
}

output "bento_exports_uri" {
  description = "S3 prefix for `bentoml export` archives (GitHub variable BENTO_EXPORTS_URI)."
  value       = module.storage.bento_exports_uri
}

output "prefect_api_url" {
  description = "PREFECT_API_URL for CI (GitHub secret)."
  value       = "https://${local.hostnames.prefect}/api"
}

output "prefect_api_key" {
  description = "PREFECT_API_KEY for CI (GitHub secret): the bearer token Caddy accepts on /api."
  value       = random_password.secret["prefect_api_key"].result
  sensitive   = true
}

output "ci_aws_access_key_id" {
  description = "AWS_ACCESS_KEY_ID for release.yml (may only write to bentos/)."
  value       = module.storage.ci_access_key_id
}

output "ci_aws_secret_access_key" {
  description = "AWS_SECRET_ACCESS_KEY for release.yml."
  value       = module.storage.ci_secret_access_key
  sensitive   = true
}

output "grafana_admin_password" {
  description = "Password of Grafana's admin user (behind the UI login at https://grafana.<domain>)."
  value       = random_password.secret["grafana_admin"].result
  sensitive   = true
}

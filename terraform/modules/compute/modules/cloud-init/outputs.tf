output "user_data" {
  description = "cloud-init user data (#cloud-config); contains the stack's secrets."
  value       = local.user_data
  sensitive   = true
}

output "bucket_name" {
  description = "Name of the artifacts bucket (ALPHAPULSE_S3_BUCKET)."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the artifacts bucket."
  value       = aws_s3_bucket.this.arn
}

output "bucket_region" {
  description = "Region of the artifacts bucket (AWS_REGION for the stack)."
  value       = aws_s3_bucket.this.region
}

output "mlflow_artifacts_uri" {
  description = "Where the MLflow server stores artifacts."
  value       = "s3://${aws_s3_bucket.this.id}/${local.prefixes.mlflow}"
}

output "bento_exports_uri" {
  description = "Where release.yml uploads `bentoml export` archives."
  value       = "s3://${aws_s3_bucket.this.id}/${local.prefixes.bentos}"
}

output "prefect_results_uri" {
  description = "Where Prefect persists task results."
  value       = "s3://${aws_s3_bucket.this.id}/${local.prefixes.prefect_results}"
}

output "stack_access_key_id" {
  description = "Access key of the stack's IAM user (AWS_ACCESS_KEY_ID in the server's .env)."
  value       = aws_iam_access_key.stack.id
}

output "stack_secret_access_key" {
  description = "Secret key of the stack's IAM user (AWS_SECRET_ACCESS_KEY in the server's .env)."
  value       = aws_iam_access_key.stack.secret
  sensitive   = true
}

output "ci_access_key_id" {
  description = "Access key of the CI user (GitHub secret AWS_ACCESS_KEY_ID for release.yml)."
  value       = aws_iam_access_key.ci.id
}

output "ci_secret_access_key" {
  description = "Secret key of the CI user (GitHub secret AWS_SECRET_ACCESS_KEY for release.yml)."
  value       = aws_iam_access_key.ci.secret
  sensitive   = true
}

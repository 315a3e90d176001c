# Production: network + server on Hetzner, artifacts bucket on AWS, and the secrets that
# tie them together. Secrets are generated here (random_password) and only live in the
# encrypted remote state and in the server's /opt/alphapulse/.env.

locals {
  name = "alphapulse-${var.environment}"

  tags = {
    project     = "alphapulse"
    environment = var.environment
    managed_by  = "terraform"
  }

  hostnames = {
    api     = "api.${var.domain}"
    prefect = "prefect.${var.domain}"
    mlflow  = "mlflow.${var.domain}"
    grafana = "grafana.${var.domain}"
  }

  # The stack as it is in the repository; cloud-init writes these under /opt/alphapulse.
  # They reach a running server only through a rebuild (the server ignores user data
  # changes): docs/DEPLOY.md, "Changing the stack".
  deploy_dir = "${path.module}/../../../deploy"
  stack_files = [
    "docker-compose.yml",
    "Caddyfile",
    "postgres/init-databases.sh",
    "prefect_setup.py",
    "scripts/rollout.sh",
    "observability/prometheus.yml",
    "observability/alertmanager.yml",
    "observability/rules/alphapulse.yml",
    "observability/grafana/provisioning/datasources/prometheus.yml",
    "observability/grafana/provisioning/dashboards/alphapulse.yml",
    "observability/grafana/dashboards/alphapulse.json",
  ]

  # Bind-mounted data directories and the container uid:gid that writes each
  # (postgres:16-alpine's postgres user; Caddy runs as the deploy user).
  data_dirs = {
    "postgres"     = "70:70"
    "caddy/data"   = "1000:1000"
    "caddy/config" = "1000:1000"
    # The deployer's state; the deployer runs as the deploy user too.
    "deployer" = "1000:1000"
    # Prometheus' time series and Alertmanager's silences (the observability image's user), Grafana's
    # database (its image's user).
    "prometheus"   = "10002:10002"
    "alertmanager" = "10002:10002"
    "grafana"      = "472:472"
  }

  # Every variable deploy/docker-compose.yml reads (documented in deploy/.env.example).
  stack_env = {
    ALPHAPULSE_DOMAIN        = local.hostnames.api
    PREFECT_DOMAIN           = local.hostnames.prefect
    MLFLOW_DOMAIN            = local.hostnames.mlflow
    GRAFANA_DOMAIN           = local.hostnames.grafana
    ACME_EMAIL               = var.acme_email
    ALPHAPULSE_IMAGE         = "${var.image_repository}/alphapulse:${var.bento_image_tag}"
    ALPHAPULSE_RUNTIME_IMAGE = "${var.image_repository}/alphapulse-runtime:${var.runtime_image_tag}"
    # Built by the same release as the runtime image (release.yml), so it carries the same tag.
    ALPHAPULSE_OBSERVABILITY_IMAGE = "${var.image_repository}/alphapulse-observability:${var.runtime_image_tag}"
    ALPHAPULSE_DATA_DIR            = "/srv/alphapulse"
    POSTGRES_SUPERUSER_PASSWORD    = random_password.secret["postgres_superuser"].result
    POSTGRES_APP_PASSWORD          = random_password.secret["postgres_app"].result
    PREFECT_DB_PASSWORD            = random_password.secret["prefect_db"].result
    MLFLOW_DB_PASSWORD             = random_password.secret["mlflow_db"].result
    POSTGRES_MONITOR_PASSWORD      = random_password.secret["postgres_monitor"].result
    GRAFANA_ADMIN_PASSWORD         = random_password.secret["grafana_admin"].result
    ALPHAPULSE_ALERT_WEBHOOK_URL   = var.alert_webhook_url
    ALPHAPULSE_DEPLOYER_TOKEN      = random_password.secret["deployer_token"].result
    DOCKER_GID                     = "2375"
    PREFECT_API_KEY                = random_password.secret["prefect_api_key"].result
    UI_BASIC_AUTH_USER             = var.ui_basic_auth_user
    UI_BASIC_AUTH_HASH             = var.ui_basic_auth_hash
    ALPHAPULSE_S3_BUCKET           = module.storage.bucket_name
    AWS_REGION                     = module.storage.bucket_region
    AWS_ACCESS_KEY_ID              = module.storage.stack_access_key_id
    AWS_SECRET_ACCESS_KEY          = module.storage.stack_secret_access_key
  }
}

# Alphanumeric only: these go into database URLs and a .env file unquoted-safe.
# 48 characters of [A-Za-z0-9] is ~285 bits.
resource "random_password" "secret" {
  for_each = toset([
    "postgres_superuser",
    "postgres_app",
    "prefect_db",
    "mlflow_db",
    "prefect_api_key",
    "deployer_token",
    "postgres_monitor",
    "grafana_admin",
  ])

  length  = 48
  special = false
}

# Bucket names are global: a random suffix avoids collisions with other deployments.
resource "random_id" "bucket_suffix" {
  byte_length = 4
}

module "network" {
  source = "../../modules/network"

  name        = local.name
  admin_cidrs = var.admin_cidrs
  labels      = local.tags
}

module "storage" {
  source = "../../modules/storage"

  name        = local.name
  bucket_name = "${local.name}-artifacts-${random_id.bucket_suffix.hex}"
}

module "compute" {
  source = "../../modules/compute"

  name                     = local.name
  location                 = var.location
  server_type              = var.server_type
  ssh_public_key           = var.ssh_public_key
  network_id               = module.network.network_id
  firewall_ids             = [module.network.firewall_id]
  volume_size              = var.volume_size
  volume_delete_protection = var.volume_delete_protection
  stack_files              = { for f in local.stack_files : f => file("${local.deploy_dir}/${f}") }
  stack_env                = local.stack_env
  systemd_unit             = file("${local.deploy_dir}/systemd/alphapulse.service")
  data_dirs                = local.data_dirs
  ghcr_username            = var.ghcr_username
  ghcr_token               = var.ghcr_token
  labels                   = local.tags

  # The server takes an address in the subnet, which must exist first.
  depends_on = [module.network]
}

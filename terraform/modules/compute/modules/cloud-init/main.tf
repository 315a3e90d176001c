# Renders the cloud-init user data of the AlphaPulse server.
#
# Secrets end up in the user data (the .env), which Hetzner serves on the metadata
# address to anything running on the server; deploy/systemd/alphapulse.service blocks
# containers from that address, and only root and deploy_user can log in.

locals {
  # Sorted so that the rendered text (and thus the server) does not change between plans.
  env_file = join("", [for k in sort(keys(var.stack_env)) : "${k}='${var.stack_env[k]}'\n"])

  user_data = templatefile("${path.module}/templates/cloud-init.yaml.tftpl", {
    deploy_user         = var.deploy_user
    deploy_uid          = var.deploy_uid
    ssh_authorized_keys = var.ssh_authorized_keys
    stack_dir           = var.stack_dir
    stack_files         = var.stack_files
    env_file            = local.env_file
    systemd_unit        = var.systemd_unit
    data_dir            = var.data_dir
    data_dirs           = var.data_dirs
    volume_device       = var.volume_device
    swap_size           = var.swap_size
    ghcr_username       = var.ghcr_username
    ghcr_token          = var.ghcr_token
    # The deployer container joins this group for the Docker socket (deploy/docker-compose.yml).
    docker_gid = lookup(var.stack_env, "DOCKER_GID", "")
  })
}

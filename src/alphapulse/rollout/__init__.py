"""Blue-green delivery of the Bento behind Caddy: the deployer (the only holder of the Docker socket), its
HTTP API, and the client the export flow and the CLI use."""

from alphapulse.rollout.client import DeployerClient, DeployerError
from alphapulse.rollout.deployer import BusyError, Deployer, RolloutError
from alphapulse.rollout.state import DeployState, Operation, bento_version

__all__ = [
    "BusyError",
    "DeployState",
    "Deployer",
    "DeployerClient",
    "DeployerError",
    "Operation",
    "RolloutError",
    "bento_version",
]

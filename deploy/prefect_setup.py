"""Register what the worker's flows rely on in the stack's Prefect server.

Run by the one-shot `prefect-setup` service on every `docker compose up`; both steps are idempotent.

- The S3 result-storage block: the worker points PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK at it, so flow
  results land in the bucket from terraform/modules/storage.
- The zombie-run automation: a flow run whose process dies with its container (kill -9, OOM, a host
  reboot) would stay Running forever and hold its deployment's concurrency slot, so the next scheduled
  run of that deployment would never start. The workers' flow runs send a heartbeat every
  PREFECT_FLOWS_HEARTBEAT_FREQUENCY seconds (compose); three missed beats mark the run Crashed, which
  frees the slot (Prefect's documented recipe, docs.prefect.io "detect zombie flows").
"""

from __future__ import annotations

import os
from datetime import timedelta

from prefect.automations import AutomationCore
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import StateType
from prefect.events.actions import ChangeFlowRunState
from prefect.events.schemas.automations import EventTrigger, Posture
from prefect.events.schemas.events import ResourceSpecification
from prefect_aws import AwsCredentials, S3Bucket

RESULTS_BLOCK = "alphapulse-results"
ZOMBIES = "crash zombie flow runs"


def save_results_block() -> None:
    bucket = os.environ["ALPHAPULSE_S3_BUCKET"]
    # No keys are stored in Prefect's database: boto3 falls back to the AWS_* variables
    # that the worker container already has.
    credentials = AwsCredentials(region_name=os.environ["AWS_DEFAULT_REGION"])
    block = S3Bucket(bucket_name=bucket, bucket_folder="prefect-results", credentials=credentials)
    block.save(RESULTS_BLOCK, overwrite=True)
    print(f"saved s3-bucket/{RESULTS_BLOCK} -> s3://{bucket}/prefect-results")


def zombie_automation(heartbeat_seconds: int) -> AutomationCore:
    return AutomationCore(
        name=ZOMBIES,
        description="A flow run that stopped sending heartbeats (its process died) is marked Crashed.",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={
                "prefect.flow-run.heartbeat",
                "prefect.flow-run.Completed",
                "prefect.flow-run.Failed",
                "prefect.flow-run.Cancelled",
                "prefect.flow-run.Crashed",
            },
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=3 * heartbeat_seconds),
        ),
        actions=[ChangeFlowRunState(state=StateType.CRASHED, message="No heartbeat: the process died.")],
    )


def save_zombie_automation() -> None:
    automation = zombie_automation(int(os.environ.get("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "30")))
    with get_client(sync_client=True) as client:
        existing = client.read_automations_by_name(ZOMBIES)
        if existing:
            client.update_automation(existing[0].id, automation)
        else:
            client.create_automation(automation)
    print(f"saved automation {ZOMBIES!r} (within {automation.trigger.within})")  # type: ignore[union-attr]


def main() -> None:
    save_results_block()
    save_zombie_automation()


if __name__ == "__main__":
    main()

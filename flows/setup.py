"""One-time (idempotent) Prefect setup for a server: the process work pool, the automation that marks
flow runs whose process died Crashed, the alert webhook block and the automation that posts every failed
or crashed flow run to it.

    PREFECT_API_URL=... PREFECT_FLOWS_HEARTBEAT_FREQUENCY=30 ALPHAPULSE_ALERT_WEBHOOK_URL=https://... \
        python -m flows.setup

A flow run whose process dies with its worker (kill -9, the OOM killer, a lost host) would stay Running
forever and hold its deployment's concurrency slot, so that deployment would never run again. Workers
started with PREFECT_FLOWS_HEARTBEAT_FREQUENCY send a heartbeat per run that often; the zombie automation
marks a run Crashed after four missed beats (Prefect's documented recipe, "detect zombie flows", says
three; the fourth leaves room for a busy worker's imports, see MISSED_HEARTBEATS). It is armed by three
events, because Prefect holds a run's state events back for up to 15 minutes when the run was scheduled
less than 5 minutes before it started (src/alphapulse/events.py): then its Running event arms nothing in
time, and a run killed before its first heartbeat was sent would go unnoticed. The deployment's pull step
(prefect.yaml) announces every starting run with an event that follows nothing.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from prefect.automations import Automation
from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.objects import StateType
from prefect.events.actions import ChangeFlowRunState, SendNotification
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.events.schemas.events import ResourceSpecification
from prefect.exceptions import ObjectAlreadyExists
from prefect.settings import get_current_settings

from alphapulse.settings import Settings, get_settings

WEBHOOK_BLOCK = "alphapulse-alerts"
FAILURE_AUTOMATION = "alphapulse: notify on failed flow runs"
ZOMBIE_AUTOMATION = "alphapulse: crash flow runs whose process died"
#: Heartbeats a run may miss before it counts as dead. Armed by the pull step, the automation must also
#: wait out the flow's imports before its first heartbeat: up to 51 s seen on the stack's loaded 2-core
#: machine, which three 30 s periods would cut close.
MISSED_HEARTBEATS = 4


async def ensure_work_pool(name: str) -> None:
    async with get_client() as client:
        try:
            await client.create_work_pool(WorkPoolCreate(name=name, type="process"))
        except ObjectAlreadyExists:
            return


def zombie_automation(heartbeat_seconds: int) -> AutomationCore:
    return AutomationCore(
        name=ZOMBIE_AUTOMATION,
        description=f"A flow run that sent no heartbeat for {MISSED_HEARTBEATS} periods is marked Crashed.",
        trigger=EventTrigger(
            after={
                "prefect.flow-run.pull-step.executed",
                "prefect.flow-run.Running",
                "prefect.flow-run.heartbeat",
            },
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
            within=timedelta(seconds=MISSED_HEARTBEATS * heartbeat_seconds),
        ),
        actions=[ChangeFlowRunState(state=StateType.CRASHED, message="No heartbeat: the process died.")],
    )


async def ensure_zombie_detection() -> int | None:
    """(Re)creates the zombie automation for the heartbeat period this environment sets (the workers'
    own); returns the period, or None when heartbeats are off: without them the automation would crash
    every healthy run, so none is created."""
    heartbeat = get_current_settings().flows.heartbeat_frequency
    async with get_client() as client:
        for existing in await client.read_automations_by_name(name=ZOMBIE_AUTOMATION):
            await client.delete_automation(existing.id)
        if heartbeat is None:
            return None
        await client.create_automation(zombie_automation(heartbeat))
    return heartbeat


async def ensure_failure_notifications(settings: Settings) -> bool:
    """Save the webhook block and (re)create the automation; False when no webhook URL is configured."""
    if not settings.alert_webhook_url:
        return False
    block = CustomWebhookNotificationBlock(
        name="AlphaPulse",
        url=settings.alert_webhook_url,
        json_data={"text": "{{body}}"},
        allow_private_urls=True,  # the operator sets the URL; on-premises receivers are legitimate
    )
    block_id = await block.asave(WEBHOOK_BLOCK, overwrite=True)
    async with get_client() as client:
        for existing in await client.read_automations_by_name(name=FAILURE_AUTOMATION):
            await client.delete_automation(existing.id)
    await Automation(
        name=FAILURE_AUTOMATION,
        description="Posts every failed or crashed AlphaPulse flow run to the alert webhook.",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Failed", "prefect.flow-run.Crashed"},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=[
            SendNotification(
                block_document_id=block_id,
                subject="AlphaPulse flow run {{ flow_run.name }} is {{ flow_run.state.name }}",
                body="Flow {{ flow.name }}, run {{ flow_run.name }}: {{ flow_run.state.message }}",
            )
        ],
    ).acreate()
    return True


async def setup(settings: Settings) -> tuple[int | None, bool]:
    await ensure_work_pool(settings.work_pool)
    return await ensure_zombie_detection(), await ensure_failure_notifications(settings)


def main() -> None:
    settings = get_settings()
    heartbeat, notifying = asyncio.run(setup(settings))
    print(f"work pool {settings.work_pool}: ready")
    if heartbeat is None:
        print("PREFECT_FLOWS_HEARTBEAT_FREQUENCY is not set: flow runs whose process dies are not detected")
    else:
        print(f"flow runs silent for {MISSED_HEARTBEATS * heartbeat} s are marked Crashed")
    if notifying:
        print(f"failed flow runs are posted to the webhook block {WEBHOOK_BLOCK}")
    else:
        print("ALPHAPULSE_ALERT_WEBHOOK_URL is not set: no failure notifications configured")


if __name__ == "__main__":
    main()

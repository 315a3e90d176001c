"""One-time (idempotent) Prefect setup for a server: the process work pool, the alert webhook block,
and the automation that posts every failed or crashed flow run to it.

    PREFECT_API_URL=... ALPHAPULSE_ALERT_WEBHOOK_URL=https://... python -m flows.setup
"""

from __future__ import annotations

import asyncio

from prefect.automations import Automation
from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.events.actions import SendNotification
from prefect.events.schemas.automations import EventTrigger, Posture
from prefect.exceptions import ObjectAlreadyExists

from alphapulse.settings import Settings, get_settings

WEBHOOK_BLOCK = "alphapulse-alerts"
FAILURE_AUTOMATION = "alphapulse: notify on failed flow runs"


async def ensure_work_pool(name: str) -> None:
    async with get_client() as client:
        try:
            await client.create_work_pool(WorkPoolCreate(name=name, type="process"))
        except ObjectAlreadyExists:
            return


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


async def setup(settings: Settings) -> bool:
    await ensure_work_pool(settings.work_pool)
    return await ensure_failure_notifications(settings)


def main() -> None:
    settings = get_settings()
    notifying = asyncio.run(setup(settings))
    print(f"work pool {settings.work_pool}: ready")
    if notifying:
        print(f"failed flow runs are posted to the webhook block {WEBHOOK_BLOCK}")
    else:
        print("ALPHAPULSE_ALERT_WEBHOOK_URL is not set: no failure notifications configured")


if __name__ == "__main__":
    main()

"""Register what the stack's workers rely on in its Prefect server.

Run by the one-shot `prefect-setup` service on every `docker compose up`; every step is idempotent.

- The S3 result-storage block: the worker points PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK at it, so flow
  results land in the bucket from terraform/modules/storage.
- The product's own Prefect setup (flows/setup.py): the work pool, the automation that marks a flow run
  whose container died Crashed (so it frees its deployment's concurrency slot) after four missed
  heartbeats of PREFECT_FLOWS_HEARTBEAT_FREQUENCY (set alike for the workers and this one-shot in compose),
  and failure notifications when ALPHAPULSE_ALERT_WEBHOOK_URL is set.
"""

from __future__ import annotations

import os

from prefect_aws import AwsCredentials, S3Bucket

from flows import setup

RESULTS_BLOCK = "alphapulse-results"


def save_results_block() -> None:
    bucket = os.environ["ALPHAPULSE_S3_BUCKET"]
    # No keys are stored in Prefect's database: boto3 falls back to the AWS_* variables
    # that the worker container already has.
    credentials = AwsCredentials(region_name=os.environ["AWS_DEFAULT_REGION"])
    block = S3Bucket(bucket_name=bucket, bucket_folder="prefect-results", credentials=credentials)
    block.save(RESULTS_BLOCK, overwrite=True)
    print(f"saved s3-bucket/{RESULTS_BLOCK} -> s3://{bucket}/prefect-results")


def main() -> None:
    save_results_block()
    setup.main()


if __name__ == "__main__":
    main()

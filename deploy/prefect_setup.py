"""Register the Prefect blocks that the worker's flows rely on.

Run by the one-shot `prefect-setup` service on every `docker compose up`; saving with
overwrite=True makes it idempotent. The worker points PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK
at the block saved here, so flow results land in the S3 bucket from terraform/modules/storage.
"""

from __future__ import annotations

import os

from prefect_aws import AwsCredentials, S3Bucket

RESULTS_BLOCK = "alphapulse-results"


def main() -> None:
    bucket = os.environ["ALPHAPULSE_S3_BUCKET"]
    # No keys are stored in Prefect's database: boto3 falls back to the AWS_* variables
    # that the worker container already has.
    credentials = AwsCredentials(region_name=os.environ["AWS_DEFAULT_REGION"])
    block = S3Bucket(bucket_name=bucket, bucket_folder="prefect-results", credentials=credentials)
    block.save(RESULTS_BLOCK, overwrite=True)
    print(f"saved s3-bucket/{RESULTS_BLOCK} -> s3://{bucket}/prefect-results")


if __name__ == "__main__":
    main()

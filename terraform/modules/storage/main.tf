# One private S3 bucket for everything the stack keeps outside the server:
#   mlflow/           MLflow artifacts (the MLflow server proxies them; clients need no keys)
#   bentos/           `bentoml export` archives from release.yml (rollback source)
#   prefect-results/  Prefect result storage (block created by deploy/prefect_setup.py)
# plus two IAM users: the stack (read/write on the bucket) and CI (write to bentos/ only).

locals {
  prefixes = {
    mlflow          = "mlflow"
    bentos          = "bentos"
    prefect_results = "prefect-results"
  }
}

resource "aws_s3_bucket" "this" {
  bucket = var.bucket_name
  tags   = var.tags

  # Artifacts outlive servers: `terraform destroy` must fail on a non-empty bucket.
  force_destroy = false
}

# ACLs off: access is decided by policies only.
resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

# SSE-S3: encrypted at rest without the per-key and per-request cost of KMS.
resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  # Lifecycle rules on noncurrent versions need versioning to be on first.
  depends_on = [aws_s3_bucket_versioning.this]

  rule {
    id     = "tier-and-prune"
    status = "Enabled"

    filter {}

    transition {
      days          = var.transition_to_ia_days
      storage_class = "STANDARD_IA"
    }

    noncurrent_version_transition {
      noncurrent_days = 30
      storage_class   = "STANDARD_IA"
    }

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }

    # Delete markers left alone once their noncurrent versions have expired.
    expiration {
      expired_object_delete_marker = true
    }
  }

  rule {
    id     = "expire-prefect-results"
    status = "Enabled"

    filter {
      prefix = "${local.prefixes.prefect_results}/"
    }

    expiration {
      days = var.prefect_results_expiration_days
    }
  }
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this.arn,
      "${aws_s3_bucket.this.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.bucket.json

  # A bucket policy is refused while the public access block is being created.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

# --- IAM: the stack (MLflow server, Prefect worker) ------------------------------------------

resource "aws_iam_user" "stack" {
  name = "${var.name}-stack"
  path = "/alphapulse/"
  tags = var.tags
}

resource "aws_iam_access_key" "stack" {
  user = aws_iam_user.stack.name
}

data "aws_iam_policy_document" "stack" {
  statement {
    sid       = "ListTheBucket"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"]
    resources = [aws_s3_bucket.this.arn]
  }

  statement {
    sid = "ReadWriteObjects"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = ["${aws_s3_bucket.this.arn}/*"]
  }
}

resource "aws_iam_user_policy" "stack" {
  name   = "${var.name}-stack-bucket"
  user   = aws_iam_user.stack.name
  policy = data.aws_iam_policy_document.stack.json
}

# --- IAM: CI (release.yml uploads `bentoml export` archives) ---------------------------------

resource "aws_iam_user" "ci" {
  name = "${var.name}-ci"
  path = "/alphapulse/"
  tags = var.tags
}

resource "aws_iam_access_key" "ci" {
  user = aws_iam_user.ci.name
}

data "aws_iam_policy_document" "ci" {
  statement {
    sid       = "WriteBentoExports"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${aws_s3_bucket.this.arn}/${local.prefixes.bentos}/*"]
  }
}

resource "aws_iam_user_policy" "ci" {
  name   = "${var.name}-ci-bentos"
  user   = aws_iam_user.ci.name
  policy = data.aws_iam_policy_document.ci.json
}

# One customer-managed key per environment encrypts its buckets, database,
# logs and performance insights. The account administers it through IAM; the
# CloudWatch Logs service may use it for the environment's log groups only.

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:In a key policy the resource "*" is this key only; the account statement is AWS's default that lets IAM policies grant use of the key.
  #checkov:skip=CKV_AWS_111:In a key policy the resource "*" is this key only; the account statement is AWS's default that lets IAM policies grant use of the key.
  #checkov:skip=CKV_AWS_356:In a key policy the resource "*" is this key only; it cannot be narrowed further.
  statement {
    sid       = "AccountAdministersThroughIam"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchLogsOfThisEnvironment"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${data.aws_region.current.name}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:aws:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:/opsctl/${var.name}/*"]
    }
  }
}

resource "aws_kms_key" "this" {
  count = var.create_kms_key ? 1 : 0

  description             = "opsctl ${var.name}: buckets, database and logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
}

resource "aws_kms_alias" "this" {
  count = var.create_kms_key ? 1 : 0

  name          = "alias/opsctl-${var.name}"
  target_key_id = aws_kms_key.this[0].key_id
}

locals {
  kms_key_arn = var.create_kms_key ? aws_kms_key.this[0].arn : var.kms_key_arn
}

# What the instances (and the workloads on them, through the instance
# profile) may do: use the platform's buckets and keys, read the database
# secret, read and create the environment's parameters, find their peers, and be reached
# through Session Manager instead of SSH.

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "platform" {
  statement {
    sid       = "ListPlatformBuckets"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = var.bucket_arns
  }

  statement {
    sid       = "UsePlatformObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [for arn in var.bucket_arns : "${arn}/*"]
  }

  statement {
    sid       = "UsePlatformKeys"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = var.kms_key_arns
  }

  statement {
    sid       = "ReadDatabasePassword"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.database_secret_arn]
  }

  # The cluster's TLS material and ACL tokens (opsctl-cluster-init in the templates).
  statement {
    sid       = "EnvironmentParameters"
    actions   = ["ssm:GetParameter", "ssm:GetParametersByPath", "ssm:PutParameter"]
    resources = ["arn:aws:ssm:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:parameter/opsctl/${var.name}/*"]
  }

  # Cloud auto-join: Consul finds its peers by tag; these calls cannot be
  # narrowed to resources.
  statement {
    sid       = "DiscoverPeers"
    actions   = ["ec2:DescribeInstances", "ec2:DescribeTags", "autoscaling:DescribeAutoScalingGroups"]
    resources = ["*"]
  }
}

resource "aws_iam_role" "node" {
  name               = "${var.name}-node"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_iam_role_policy" "platform" {
  name   = "platform"
  role   = aws_iam_role.node.id
  policy = data.aws_iam_policy_document.platform.json
}

resource "aws_iam_role_policy_attachment" "ssm" {
  role       = aws_iam_role.node.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "node" {
  name = "${var.name}-node"
  role = aws_iam_role.node.name
}

# Remote state: a hardened bucket (the storage module's rules, versioned so a
# bad write can be rolled back) and a lock table so two applies never overlap.

module "bucket" {
  source = "../storage"

  name                    = "state"
  buckets                 = { state = var.bucket_name }
  create_kms_key          = false
  kms_key_arn             = var.kms_key_arn
  noncurrent_version_days = 365
}

resource "aws_dynamodb_table" "lock" {
  name         = var.lock_table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "LockID"

  attribute {
    name = "LockID"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  deletion_protection_enabled = true
}

# Account-level resources every environment needs before its first plan: the
# remote state backend and the shared release bucket, under one shared key.

module "shared_storage" {
  source = "../modules/storage"

  name    = "shared"
  buckets = var.shared_buckets
}

module "state_backend" {
  source = "../modules/state_backend"

  bucket_name     = var.state_bucket
  lock_table_name = var.lock_table
  kms_key_arn     = module.shared_storage.kms_key_arn
}

output "state_bucket" {
  description = "The remote state bucket."
  value       = module.state_backend.bucket_name
}

output "lock_table" {
  description = "The state lock table."
  value       = module.state_backend.lock_table_name
}

output "shared_bucket_names" {
  description = "Shared buckets by kind."
  value       = module.shared_storage.bucket_names
}

output "shared_kms_key_arn" {
  description = "Key of the shared buckets and the state."
  value       = module.shared_storage.kms_key_arn
}

output "bucket_name" {
  description = "The state bucket."
  value       = module.bucket.bucket_names["state"]
}

output "lock_table_name" {
  description = "The lock table."
  value       = aws_dynamodb_table.lock.name
}

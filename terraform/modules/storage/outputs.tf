output "bucket_names" {
  description = "Bucket names by kind."
  value       = { for kind, bucket in aws_s3_bucket.this : kind => bucket.bucket }
}

output "bucket_arns" {
  description = "Bucket ARNs by kind."
  value       = { for kind, bucket in aws_s3_bucket.this : kind => bucket.arn }
}

output "kms_key_arn" {
  description = "The KMS key that encrypts the buckets (and the rest of the environment)."
  value       = local.kms_key_arn
}

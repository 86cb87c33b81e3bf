variable "bucket_name" {
  description = "S3 bucket holding the Terraform and Pulumi state of every environment."
  type        = string
}

variable "lock_table_name" {
  description = "DynamoDB table holding Terraform state locks."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key encrypting the state bucket and the lock table."
  type        = string
}

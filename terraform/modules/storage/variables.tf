variable "name" {
  description = "Prefix of resource names, e.g. crm-staging."
  type        = string
}

variable "buckets" {
  description = "Buckets this module creates, by kind (data, mlflow, predictions, monitoring, releases)."
  type        = map(string)
}

variable "noncurrent_version_days" {
  description = "Days an overwritten or deleted object version is kept before it expires."
  type        = number
  default     = 90
}

variable "prediction_log_ia_days" {
  description = "Days after which prediction logs move to infrequent-access storage."
  type        = number
  default     = 30
}

variable "create_kms_key" {
  description = "Create the platform KMS key here; false to use kms_key_arn instead."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "An existing KMS key for the buckets, used when create_kms_key is false."
  type        = string
  default     = null
}

variable "name" {
  description = "Prefix of resource names, e.g. crm-staging."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the database."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets (two zones at least) the database may live in."
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "Security groups whose members may connect on the PostgreSQL port, by a static label."
  type        = map(string)
}

variable "instance_class" {
  description = "RDS instance class."
  type        = string
}

variable "multi_az" {
  description = "Keep a synchronous standby in a second zone (prod)."
  type        = bool
}

variable "username" {
  description = "Master user name; its password is created and rotated by RDS in Secrets Manager."
  type        = string
}

variable "database_name" {
  description = "The database created at launch (MLflow's); others are created by the platform."
  type        = string
  default     = "mlflow"
}

variable "kms_key_arn" {
  description = "KMS key for storage, performance insights and the master password secret."
  type        = string
}

variable "allocated_storage_gb" {
  description = "Initial storage; grows automatically up to max_allocated_storage_gb."
  type        = number
  default     = 50
}

variable "max_allocated_storage_gb" {
  description = "Upper bound of storage autoscaling."
  type        = number
  default     = 500
}

variable "backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery window)."
  type        = number
  default     = 14
}

variable "deletion_protection" {
  description = "Refuse to delete the instance until this is turned off."
  type        = bool
  default     = true
}

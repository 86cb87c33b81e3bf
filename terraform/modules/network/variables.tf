variable "name" {
  description = "Prefix of every resource name, e.g. crm-staging."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC; split into one public and one private /20 per zone."
  type        = string
}

variable "availability_zones" {
  description = "At least two availability zones the subnets spread over."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 2
    error_message = "The network needs at least two availability zones."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper) instead of one per zone (zone-redundant)."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the flow log group."
  type        = string
}

variable "log_retention_days" {
  description = "How long VPC flow logs are kept."
  type        = number
  default     = 365
}

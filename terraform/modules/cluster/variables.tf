variable "name" {
  description = "Prefix of resource names and the tag value peers join on, e.g. crm-staging."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the cluster."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR of the VPC; the internal control endpoint and health checks come from it."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets the instances and the internal control endpoint use."
  type        = list(string)
}

variable "server_count" {
  description = "Nomad and Consul servers (an odd quorum; production runs 3 or 5, see ops_cli/config/cloud.py)."
  type        = number
  default     = 3

  validation {
    condition     = contains([1, 3, 5, 7], var.server_count)
    error_message = "Run an odd number of servers (1, 3, 5 or 7): a quorum needs a majority."
  }
}

variable "client_count" {
  description = "Nomad clients that run the platform's workloads."
  type        = number
}

variable "server_instance_type" {
  description = "EC2 type of the servers."
  type        = string
}

variable "client_instance_type" {
  description = "EC2 type of the clients."
  type        = string
}

variable "nomad_region" {
  description = "Nomad region name."
  type        = string
  default     = "global"
}

variable "datacenter" {
  description = "Nomad and Consul datacenter name."
  type        = string
}

variable "bucket_arns" {
  description = "Buckets the workloads read and write."
  type        = list(string)
}

variable "kms_key_arns" {
  description = "KMS keys of those buckets."
  type        = list(string)
}

variable "database_secret_arn" {
  description = "Secrets Manager secret with the database password (managed by RDS)."
  type        = string
}

variable "alb_security_group_id" {
  description = "Security group of the public load balancer, allowed to reach the service ports."
  type        = string
}

variable "service_ports" {
  description = "Static ports the load balancer forwards to on the clients, by service (api, ui)."
  type        = map(number)
}

variable "client_target_group_arns" {
  description = "Load balancer target groups the clients register with."
  type        = list(string)
}

variable "root_volume_gb" {
  description = "Size of each instance's encrypted root volume."
  type        = number
  default     = 50
}

variable "deletion_protection" {
  description = "Protect the internal control load balancer from deletion."
  type        = bool
}

variable "max_kill_timeout" {
  description = "Longest kill_timeout a job may ask the clients for (the catalog's stop_timeout_s stays below it)."
  type        = string
  default     = "15m"
}

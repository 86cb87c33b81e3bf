variable "environment" {
  description = "Environment name (staging, prod); resources are named crm-<environment>."
  type        = string
}

variable "availability_zones" {
  description = "Zones the network, cluster and database spread over (two at least)."
  type        = list(string)
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC."
  type        = string
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones instead of one per zone."
  type        = bool
}

variable "server_instance_type" {
  description = "EC2 type of the Nomad and Consul servers."
  type        = string
}

variable "client_instance_type" {
  description = "EC2 type of the Nomad clients."
  type        = string
}

variable "client_count" {
  description = "Number of Nomad clients."
  type        = number
}

variable "nomad_region" {
  description = "Nomad region."
  type        = string
}

variable "datacenter" {
  description = "Nomad and Consul datacenter."
  type        = string
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
}

variable "db_username" {
  description = "Database master user (its password is managed by RDS)."
  type        = string
}

variable "db_name" {
  description = "Database created at launch."
  type        = string
}

variable "multi_az" {
  description = "Synchronous database standby in a second zone."
  type        = bool
}

variable "buckets" {
  description = "Buckets of this environment, by kind."
  type        = map(string)
}

variable "shared_buckets" {
  description = "Buckets shared by every environment (created by terraform/bootstrap), by kind."
  type        = map(string)
  default     = {}
}

variable "certificate_arn" {
  description = "ACM certificate of the public load balancer."
  type        = string
}

variable "service_ports" {
  description = "Static ports of the api and ui services on the clients."
  type        = map(number)
}

variable "deletion_protection" {
  description = "Protect the database and the load balancers from deletion."
  type        = bool
}

variable "server_count" {
  description = "Nomad and Consul servers."
  type        = number
  default     = 3
}

variable "domain_name" {
  description = "Domain the app is served on; null to use the load balancer's DNS name."
  type        = string
  default     = null
}

variable "app_auth" {
  description = "User authentication before the app (see modules/load_balancer)."
  type        = any
}

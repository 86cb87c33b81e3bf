# Values come from environments/<env>.yaml: opsctl writes them to a tfvars
# JSON file (ops_cli/provision/tfvars.py) and passes it with -var-file. The
# production rules (three zones, multi-AZ, deletion protection, 3 or 5
# servers, the certificate ARN format) are checked there, when the config
# loads (ops_cli/config/cloud.py ProductionRules), for Terraform and Pulumi alike.

variable "environment" {
  description = "Environment name."
  type        = string
}

variable "region" {
  description = "AWS region."
  type        = string
}

variable "availability_zones" {
  description = "Zones to spread over (two at least)."
  type        = list(string)
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC."
  type        = string
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones."
  type        = bool
}

variable "server_instance_type" {
  description = "EC2 type of the servers."
  type        = string
}

variable "client_instance_type" {
  description = "EC2 type of the clients."
  type        = string
}

variable "server_count" {
  description = "Number of Nomad and Consul servers."
  type        = number
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
  description = "Database master user."
  type        = string
}

variable "db_name" {
  description = "Database created at launch."
  type        = string
}

variable "multi_az" {
  description = "Database standby in a second zone."
  type        = bool
}

variable "buckets" {
  description = "Buckets of the environment, by kind."
  type        = map(string)
}

variable "shared_buckets" {
  description = "Buckets shared by every environment, by kind."
  type        = map(string)
}

variable "certificate_arn" {
  description = "ACM certificate of the public load balancer."
  type        = string
}

variable "domain_name" {
  description = "Domain the app is served on; null to use the load balancer's DNS name."
  type        = string
  default     = null
}

variable "app_auth" {
  description = "User authentication before the app (aws.app_auth)."
  type = object({
    provider               = string
    issuer                 = optional(string)
    authorization_endpoint = optional(string)
    token_endpoint         = optional(string)
    user_info_endpoint     = optional(string)
    client_id              = optional(string)
    client_secret_name     = optional(string)
    session_timeout        = optional(number, 28800)
  })
}

variable "service_ports" {
  description = "Static ports of the api and ui services."
  type        = map(number)
}

variable "deletion_protection" {
  description = "Protect the database and load balancers from deletion."
  type        = bool
}

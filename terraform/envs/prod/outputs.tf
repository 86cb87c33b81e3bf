# opsctl reads these with `terraform output -json` and stores them in the
# environment's state directory (outputs.json).

output "nomad_addr" {
  description = "Nomad HTTP API (internal control endpoint)."
  value       = module.platform.nomad_addr
}

output "consul_addr" {
  description = "Consul HTTP API (internal control endpoint)."
  value       = module.platform.consul_addr
}

output "bucket_names" {
  description = "Buckets by kind."
  value       = module.platform.bucket_names
}

output "database_endpoint" {
  description = "host:port of PostgreSQL."
  value       = module.platform.database_endpoint
}

output "database_secret_arn" {
  description = "Secret with the database password."
  value       = module.platform.database_secret_arn
}

output "alb_dns_name" {
  description = "DNS name of the public load balancer."
  value       = module.platform.alb_dns_name
}

output "vpc_id" {
  description = "ID of the VPC."
  value       = module.platform.vpc_id
}

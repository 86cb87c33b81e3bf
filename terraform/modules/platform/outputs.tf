output "nomad_addr" {
  description = "Nomad HTTP API (internal control endpoint)."
  value       = module.cluster.nomad_addr
}

output "consul_addr" {
  description = "Consul HTTP API (internal control endpoint)."
  value       = module.cluster.consul_addr
}

output "bucket_names" {
  description = "Every bucket the environment uses, by kind (its own and the shared ones)."
  value       = merge(var.shared_buckets, module.storage.bucket_names)
}

output "database_endpoint" {
  description = "host:port of PostgreSQL."
  value       = module.database.endpoint
}

output "database_secret_arn" {
  description = "Secrets Manager secret with the database password."
  value       = module.database.master_user_secret_arn
}

output "alb_dns_name" {
  description = "DNS name of the public load balancer."
  value       = module.load_balancer.dns_name
}

output "vpc_id" {
  description = "ID of the VPC."
  value       = module.network.vpc_id
}

output "nomad_addr" {
  description = "Nomad HTTPS API through the internal control endpoint (NOMAD_ADDR)."
  value       = "https://${aws_lb.control.dns_name}:4646"
}

output "consul_addr" {
  description = "Consul HTTPS API through the internal control endpoint (CONSUL_HTTP_ADDR)."
  value       = "https://${aws_lb.control.dns_name}:8501"
}

output "server_security_group_id" {
  description = "Security group of the servers."
  value       = aws_security_group.server.id
}

output "client_security_group_id" {
  description = "Security group of the clients."
  value       = aws_security_group.client.id
}

output "node_role_arn" {
  description = "IAM role of every instance."
  value       = aws_iam_role.node.arn
}

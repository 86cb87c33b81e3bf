output "dns_name" {
  description = "DNS name of the public load balancer (point the domain's records at it)."
  value       = aws_lb.public.dns_name
}

output "zone_id" {
  description = "Route 53 zone of the load balancer, for alias records."
  value       = aws_lb.public.zone_id
}

output "security_group_id" {
  description = "Security group of the load balancer."
  value       = aws_security_group.alb.id
}

output "target_group_arns" {
  description = "Target groups by service (api, ui)."
  value       = { for name, group in aws_lb_target_group.service : name => group.arn }
}

# The internal control endpoint: one private network load balancer in front
# of the servers' Nomad and Consul HTTPS APIs (TLS ends on the servers), reachable from inside the VPC
# only (VPN, Session Manager port forwarding, a CI runner in the VPC).

resource "aws_lb" "control" {
  #checkov:skip=CKV_AWS_91:The control endpoint is internal; API calls are audited by Nomad and Consul themselves.
  name                             = "${var.name}-control"
  internal                         = true
  load_balancer_type               = "network"
  subnets                          = var.private_subnet_ids
  enable_cross_zone_load_balancing = true
  enable_deletion_protection       = var.deletion_protection
}

resource "aws_lb_target_group" "control" {
  for_each = local.control_ports

  name     = "${var.name}-${each.key}"
  port     = each.value
  protocol = "TCP"
  vpc_id   = var.vpc_id

  health_check {
    protocol = "HTTPS"
    port     = tostring(each.value)
    path     = each.key == "nomad" ? "/v1/agent/health" : "/v1/status/leader"
  }
}

resource "aws_lb_listener" "control" {
  for_each = local.control_ports

  load_balancer_arn = aws_lb.control.arn
  port              = each.value
  protocol          = "TCP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.control[each.key].arn
  }
}

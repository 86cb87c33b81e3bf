# The public entry: TLS on 443 only. Hosts starting with "api." reach the
# prediction service (which demands its API key), everything else the
# Streamlit app, after the load balancer has authenticated the person
# (Cognito or the organisation's OIDC provider, see auth.tf). Port 80 answers
# with a permanent redirect to 443 and forwards nothing.

resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "Public load balancer: HTTPS, and HTTP that only redirects"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "https" {
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from the internet"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_ingress_rule" "http_redirect" {
  #checkov:skip=CKV_AWS_260:Port 80 only answers with a 301 to HTTPS (see aws_lb_listener.http); no request is forwarded.
  security_group_id = aws_security_group.alb.id
  description       = "HTTP from the internet, redirected to HTTPS"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "targets" {
  for_each = var.service_ports

  security_group_id            = aws_security_group.alb.id
  description                  = "${each.key} on the cluster clients"
  ip_protocol                  = "tcp"
  from_port                    = each.value
  to_port                      = each.value
  referenced_security_group_id = var.target_security_group_id
}

resource "aws_lb" "public" {
  #checkov:skip=CKV_AWS_91:ALB access logs need an SSE-S3 bucket; every platform bucket is SSE-KMS. Requests are logged by the services.
  #checkov:skip=CKV2_AWS_28:No WAF in this design; the API requires an API key and the app sits behind it. Attach a web ACL per account if required.
  name                       = "${var.name}-public"
  internal                   = false
  load_balancer_type         = "application"
  security_groups            = [aws_security_group.alb.id]
  subnets                    = var.public_subnet_ids
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
}

resource "aws_lb_target_group" "service" {
  #checkov:skip=CKV_AWS_378:TLS ends at the load balancer; the hop to the clients stays inside the private subnets.
  for_each = var.service_ports

  name     = "${var.name}-${each.key}"
  port     = each.value
  protocol = "HTTP"
  vpc_id   = var.vpc_id

  health_check {
    path    = var.health_paths[each.key]
    matcher = "200"
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.public.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  dynamic "default_action" {
    for_each = local.cognito ? [1] : []
    content {
      type  = "authenticate-cognito"
      order = 1
      authenticate_cognito {
        user_pool_arn              = aws_cognito_user_pool.app[0].arn
        user_pool_client_id        = aws_cognito_user_pool_client.app[0].id
        user_pool_domain           = aws_cognito_user_pool_domain.app[0].domain
        session_timeout            = var.app_auth.session_timeout
        on_unauthenticated_request = "authenticate"
      }
    }
  }

  dynamic "default_action" {
    for_each = local.oidc ? [1] : []
    content {
      type  = "authenticate-oidc"
      order = 1
      authenticate_oidc {
        issuer                     = var.app_auth.issuer
        authorization_endpoint     = var.app_auth.authorization_endpoint
        token_endpoint             = var.app_auth.token_endpoint
        user_info_endpoint         = var.app_auth.user_info_endpoint
        client_id                  = var.app_auth.client_id
        client_secret              = data.aws_secretsmanager_secret_version.oidc_client[0].secret_string
        session_timeout            = var.app_auth.session_timeout
        on_unauthenticated_request = "authenticate"
      }
    }
  }

  default_action {
    type             = "forward"
    order            = 2
    target_group_arn = aws_lb_target_group.service["ui"].arn
  }
}

resource "aws_lb_listener_rule" "api" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 10

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.service["api"].arn
  }

  condition {
    host_header {
      values = ["api.*"]
    }
  }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.public.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}

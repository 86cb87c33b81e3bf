# Who may reach the Streamlit app: the load balancer signs people in before it
# forwards a request (its authenticate-cognito or authenticate-oidc action).
# Cognito is the default: a user pool per environment whose users an
# administrator creates; no one signs themselves up.

data "aws_caller_identity" "current" {}

locals {
  cognito = var.app_auth.provider == "cognito"
  oidc    = var.app_auth.provider == "oidc"
  # the sign-in callback of the load balancer (fixed path /oauth2/idpresponse)
  app_host = coalesce(var.domain_name, aws_lb.public.dns_name)
}

resource "aws_cognito_user_pool" "app" {
  count = local.cognito ? 1 : 0

  name                = "${var.name}-app"
  deletion_protection = var.deletion_protection ? "ACTIVE" : "INACTIVE"
  mfa_configuration   = "OPTIONAL"

  admin_create_user_config {
    allow_admin_create_user_only = true
  }

  password_policy {
    minimum_length    = 14
    require_lowercase = true
    require_uppercase = true
    require_numbers   = true
    require_symbols   = false
  }

  software_token_mfa_configuration {
    enabled = true
  }
}

resource "aws_cognito_user_pool_client" "app" {
  count = local.cognito ? 1 : 0

  name                                 = "${var.name}-alb"
  user_pool_id                         = aws_cognito_user_pool.app[0].id
  generate_secret                      = true
  allowed_oauth_flows_user_pool_client = true
  allowed_oauth_flows                  = ["code"]
  allowed_oauth_scopes                 = ["openid", "email"]
  supported_identity_providers         = ["COGNITO"]
  callback_urls                        = ["https://${local.app_host}/oauth2/idpresponse"]
}

resource "aws_cognito_user_pool_domain" "app" {
  count = local.cognito ? 1 : 0

  # a hosted sign-in domain prefix is unique per region: the account makes it so
  domain       = "${var.name}-${data.aws_caller_identity.current.account_id}"
  user_pool_id = aws_cognito_user_pool.app[0].id
}

data "aws_secretsmanager_secret_version" "oidc_client" {
  count = local.oidc ? 1 : 0

  secret_id = var.app_auth.client_secret_name
}

# The load balancer itself calls the identity provider's token endpoint.
resource "aws_vpc_security_group_egress_rule" "identity_provider" {
  count = var.app_auth.provider == "none" ? 0 : 1

  security_group_id = aws_security_group.alb.id
  description       = "HTTPS to the identity provider (sign-in)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

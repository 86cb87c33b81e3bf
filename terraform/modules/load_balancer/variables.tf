variable "name" {
  description = "Prefix of resource names, e.g. crm-staging."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the load balancer."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets (two zones at least)."
  type        = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate served on 443."
  type        = string

  # The format rule itself lives in ops_cli/config/cloud.py (CERTIFICATE_ARN_PATTERN);
  # this check guards callers of the module that do not go through opsctl.
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN: the load balancer serves TLS only."
  }
}

variable "target_security_group_id" {
  description = "Security group of the instances behind the load balancer."
  type        = string
}

variable "service_ports" {
  description = "Ports of the services on the instances: api (prediction service) and ui (Streamlit)."
  type        = map(number)

  validation {
    condition     = alltrue([for key in ["api", "ui"] : contains(keys(var.service_ports), key)])
    error_message = "service_ports needs an 'api' and a 'ui' port."
  }
}

variable "health_paths" {
  description = "Health check path per service."
  type        = map(string)
  default     = { api = "/health", ui = "/_stcore/health" }
}

variable "deletion_protection" {
  description = "Refuse to delete the load balancer until this is turned off."
  type        = bool
  default     = true
}

variable "domain_name" {
  description = "Domain the app is served on (its certificate's name); null to use the load balancer's DNS name in the sign-in callback."
  type        = string
  default     = null
}

variable "app_auth" {
  description = "How people are authenticated before the Streamlit app: cognito (a user pool of the environment), oidc (the organisation's identity provider, client secret read from Secrets Manager) or none."
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
  default = { provider = "cognito" }

  validation {
    condition     = contains(["cognito", "oidc", "none"], var.app_auth.provider)
    error_message = "app_auth.provider is cognito, oidc or none."
  }
}

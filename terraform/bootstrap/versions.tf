terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 6.0"
    }
  }

  # The bootstrap creates the remote state, so its own state is local; opsctl
  # points it into the operator's state directory (-backend-config=path=...).
  backend "local" {}
}

provider "aws" {
  region = var.region

  default_tags {
    tags = { ManagedBy = "opsctl", Scope = "account" }
  }
}

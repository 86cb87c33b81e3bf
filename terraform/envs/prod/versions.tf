terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 6.0"
    }
  }

  # Partial configuration: opsctl passes bucket, key, region and
  # dynamodb_table at init (-backend-config), from environments/<env>.yaml.
  backend "s3" {}
}

provider "aws" {
  region = var.region

  default_tags {
    tags = { ManagedBy = "opsctl", Environment = var.environment }
  }
}

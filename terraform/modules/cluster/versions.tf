# The AWS provider 5.x is the one tested (validate and a mocked plan against a
# mirror of 5.100); a new major version may change the arguments used here.
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 6.0"
    }
  }
}

# A plan of the environment root with the AWS provider mocked: no credentials,
# no network. The provider's own schema and value checks still run on the
# values opsctl generates (passed with -var-file), and the plan's JSON (printed
# with -verbose -json) is what the parity test compares with the Pulumi program.
# Data sources answer with the same fixed account and region as the Pulumi mocks
# (tests/infra/pulumi_support.py).

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
      arn        = "arn:aws:iam::123456789012:user/test"
    }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_ssm_parameter" {
    defaults = { value = "ami-0123456789abcdef0" }
  }
  mock_data "aws_secretsmanager_secret_version" {
    defaults = { secret_string = "oidc-client-secret" }
  }
  mock_data "aws_kms_alias" {
    defaults = { target_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/shared" }
  }
}

run "plan" {
  command = plan
}

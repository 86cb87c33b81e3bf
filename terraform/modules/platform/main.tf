# One environment of the platform: network, storage, database, cluster and
# the public load balancer, wired together.

locals {
  name = "crm-${var.environment}"
}

data "aws_kms_alias" "shared" {
  count = length(var.shared_buckets) > 0 ? 1 : 0

  name = "alias/opsctl-shared"
}

module "storage" {
  source = "../storage"

  name    = local.name
  buckets = var.buckets
}

module "network" {
  source = "../network"

  name               = local.name
  vpc_cidr           = var.vpc_cidr
  availability_zones = var.availability_zones
  single_nat_gateway = var.single_nat_gateway
  kms_key_arn        = module.storage.kms_key_arn
}

module "load_balancer" {
  source = "../load_balancer"

  name                     = local.name
  vpc_id                   = module.network.vpc_id
  public_subnet_ids        = module.network.public_subnet_ids
  certificate_arn          = var.certificate_arn
  target_security_group_id = module.cluster.client_security_group_id
  service_ports            = var.service_ports
  deletion_protection      = var.deletion_protection
  domain_name              = var.domain_name
  app_auth                 = var.app_auth
}

module "database" {
  source = "../database"

  name                      = local.name
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.private_subnet_ids
  client_security_group_ids = { client = module.cluster.client_security_group_id }
  instance_class            = var.db_instance_class
  multi_az                  = var.multi_az
  username                  = var.db_username
  database_name             = var.db_name
  kms_key_arn               = module.storage.kms_key_arn
  deletion_protection       = var.deletion_protection
}

module "cluster" {
  source = "../cluster"

  name                     = local.name
  vpc_id                   = module.network.vpc_id
  vpc_cidr                 = module.network.vpc_cidr
  private_subnet_ids       = module.network.private_subnet_ids
  server_count             = var.server_count
  client_count             = var.client_count
  deletion_protection      = var.deletion_protection
  server_instance_type     = var.server_instance_type
  client_instance_type     = var.client_instance_type
  nomad_region             = var.nomad_region
  datacenter               = var.datacenter
  bucket_arns              = concat(values(module.storage.bucket_arns), [for name in values(var.shared_buckets) : "arn:aws:s3:::${name}"])
  kms_key_arns             = concat([module.storage.kms_key_arn], [for alias in data.aws_kms_alias.shared : alias.target_key_arn])
  database_secret_arn      = module.database.master_user_secret_arn
  alb_security_group_id    = module.load_balancer.security_group_id
  service_ports            = var.service_ports
  client_target_group_arns = values(module.load_balancer.target_group_arns)
}

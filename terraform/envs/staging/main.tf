module "platform" {
  source = "../../modules/platform"

  environment          = var.environment
  availability_zones   = var.availability_zones
  vpc_cidr             = var.vpc_cidr
  single_nat_gateway   = var.single_nat_gateway
  server_instance_type = var.server_instance_type
  client_instance_type = var.client_instance_type
  server_count         = var.server_count
  client_count         = var.client_count
  nomad_region         = var.nomad_region
  datacenter           = var.datacenter
  db_instance_class    = var.db_instance_class
  db_username          = var.db_username
  db_name              = var.db_name
  multi_az             = var.multi_az
  buckets              = var.buckets
  shared_buckets       = var.shared_buckets
  certificate_arn      = var.certificate_arn
  domain_name          = var.domain_name
  app_auth             = var.app_auth
  service_ports        = var.service_ports
  deletion_protection  = var.deletion_protection
}

# Servers and clients: launch templates rendered from cloud-init templates,
# each in an auto-scaling group spread over the private subnets.

data "aws_ssm_parameter" "ubuntu" {
  name = "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id"
}

locals {
  roles = {
    server = {
      instance_type = var.server_instance_type
      count         = var.server_count
      security      = aws_security_group.server.id
      targets       = [for name, group in aws_lb_target_group.control : group.arn]
    }
    client = {
      instance_type = var.client_instance_type
      count         = var.client_count
      security      = aws_security_group.client.id
      targets       = var.client_target_group_arns
    }
  }

  template_vars = {
    environment      = var.name
    cluster_tag      = var.name
    datacenter       = var.datacenter
    nomad_region     = var.nomad_region
    server_count     = var.server_count
    region           = data.aws_region.current.name
    ssm_prefix       = "/opsctl/${var.name}"
    max_kill_timeout = var.max_kill_timeout
    control_dns      = aws_lb.control.dns_name
  }
}

resource "aws_launch_template" "node" {
  #checkov:skip=CKV_AWS_341:Containers on the docker bridge are one hop further; they need a hop limit of 2 to reach IMDSv2 for the instance profile's S3 credentials.
  for_each = local.roles

  name_prefix   = "${var.name}-${each.key}-"
  image_id      = data.aws_ssm_parameter.ubuntu.value
  instance_type = each.value.instance_type
  user_data     = base64encode(templatefile("${path.module}/templates/${each.key}.yaml.tftpl", local.template_vars))

  iam_instance_profile {
    arn = aws_iam_instance_profile.node.arn
  }

  network_interfaces {
    associate_public_ip_address = false
    security_groups             = [each.value.security]
  }

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }

  block_device_mappings {
    device_name = "/dev/sda1"
    ebs {
      volume_size           = var.root_volume_gb
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }

  monitoring {
    enabled = true
  }

  tag_specifications {
    resource_type = "instance"
    tags          = { Name = "${var.name}-${each.key}", opsctl-cluster = var.name, opsctl-role = each.key }
  }
}

resource "aws_autoscaling_group" "node" {
  for_each = local.roles

  name                      = "${var.name}-${each.key}s"
  min_size                  = each.value.count
  max_size                  = each.value.count
  desired_capacity          = each.value.count
  vpc_zone_identifier       = var.private_subnet_ids
  target_group_arns         = each.value.targets
  health_check_type         = "ELB"
  health_check_grace_period = 600

  launch_template {
    id      = aws_launch_template.node[each.key].id
    version = aws_launch_template.node[each.key].latest_version
  }

  instance_refresh {
    strategy = "Rolling"
    preferences {
      min_healthy_percentage = 66
    }
  }

  tag {
    key                 = "opsctl-cluster"
    value               = var.name
    propagate_at_launch = true
  }
  tag {
    key                 = "opsctl-role"
    value               = each.key
    propagate_at_launch = true
  }
}

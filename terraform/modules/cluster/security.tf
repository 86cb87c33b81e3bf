# Least privilege between the tiers: peers talk on the Nomad and Consul ports
# and clients on the service ports, the load balancer reaches the two service ports, the internal control
# endpoint reaches the Nomad and Consul HTTP APIs. Nothing is open to the
# internet; instances leave through the NAT for HTTPS and HTTP (packages, images).

resource "aws_security_group" "server" {
  #checkov:skip=CKV2_AWS_5:Attached through the network interface of aws_launch_template.node["server"].
  name        = "${var.name}-servers"
  description = "Nomad and Consul servers"
  vpc_id      = var.vpc_id
}

resource "aws_security_group" "client" {
  #checkov:skip=CKV2_AWS_5:Attached through the network interface of aws_launch_template.node["client"].
  name        = "${var.name}-clients"
  description = "Nomad clients running the workloads"
  vpc_id      = var.vpc_id
}

locals {
  security_groups = {
    server = aws_security_group.server.id
    client = aws_security_group.client.id
  }

  # Ports a peer (server or client) may open on a server.
  server_peer_ports = {
    consul-rpc-serf-tcp = { protocol = "tcp", from = 8300, to = 8302 }
    consul-serf-udp     = { protocol = "udp", from = 8301, to = 8302 }
    consul-https        = { protocol = "tcp", from = 8501, to = 8501 }
    consul-dns-tcp      = { protocol = "tcp", from = 8600, to = 8600 }
    consul-dns-udp      = { protocol = "udp", from = 8600, to = 8600 }
    nomad-tcp           = { protocol = "tcp", from = 4646, to = 4648 }
    nomad-serf-udp      = { protocol = "udp", from = 4648, to = 4648 }
  }

  # Ports a peer may open on a client.
  client_peer_ports = {
    consul-serf-tcp = { protocol = "tcp", from = 8301, to = 8302 }
    consul-serf-udp = { protocol = "udp", from = 8301, to = 8302 }
    nomad-client    = { protocol = "tcp", from = 4646, to = 4647 }
    nomad-dynamic   = { protocol = "tcp", from = 20000, to = 32000 }
  }

  peer_rules = merge(
    { for pair in setproduct(keys(local.server_peer_ports), keys(local.security_groups)) :
      "server-${pair[0]}-from-${pair[1]}" => merge(local.server_peer_ports[pair[0]], { target = "server", source = pair[1] })
    },
    { for pair in setproduct(keys(local.client_peer_ports), keys(local.security_groups)) :
      "client-${pair[0]}-from-${pair[1]}" => merge(local.client_peer_ports[pair[0]], { target = "client", source = pair[1] })
    },
  )

  control_ports = { nomad = 4646, consul = 8501 }
}

resource "aws_vpc_security_group_ingress_rule" "peers" {
  for_each = local.peer_rules

  security_group_id            = local.security_groups[each.value.target]
  description                  = "${each.key} (cluster peers)"
  ip_protocol                  = each.value.protocol
  from_port                    = each.value.from
  to_port                      = each.value.to
  referenced_security_group_id = local.security_groups[each.value.source]
}

resource "aws_vpc_security_group_ingress_rule" "control" {
  for_each = local.control_ports

  security_group_id = aws_security_group.server.id
  description       = "${each.key} API from inside the VPC (internal control endpoint)"
  ip_protocol       = "tcp"
  from_port         = each.value
  to_port           = each.value
  cidr_ipv4         = var.vpc_cidr
}

# Workloads reach each other on the static service ports too (the Streamlit
# app calls the prediction service at its Consul address, node:8000).
resource "aws_vpc_security_group_ingress_rule" "services_from_clients" {
  for_each = var.service_ports

  security_group_id            = aws_security_group.client.id
  description                  = "${each.key} from the other clients (service to service)"
  ip_protocol                  = "tcp"
  from_port                    = each.value
  to_port                      = each.value
  referenced_security_group_id = aws_security_group.client.id
}

resource "aws_vpc_security_group_ingress_rule" "services" {
  for_each = var.service_ports

  security_group_id            = aws_security_group.client.id
  description                  = "${each.key} from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = each.value
  to_port                      = each.value
  referenced_security_group_id = var.alb_security_group_id
}

locals {
  egress = {
    https   = { protocol = "tcp", from = 443, to = 443, cidr = "0.0.0.0/0" }
    http    = { protocol = "tcp", from = 80, to = 80, cidr = "0.0.0.0/0" }
    vpc-tcp = { protocol = "tcp", from = 0, to = 65535, cidr = var.vpc_cidr }
    vpc-udp = { protocol = "udp", from = 0, to = 65535, cidr = var.vpc_cidr }
  }
  egress_rules = {
    for pair in setproduct(keys(local.security_groups), keys(local.egress)) :
    "${pair[0]}-${pair[1]}" => merge(local.egress[pair[1]], { group = pair[0] })
  }
}

resource "aws_vpc_security_group_egress_rule" "cluster" {
  for_each = local.egress_rules

  security_group_id = local.security_groups[each.value.group]
  description       = "${each.key} outbound"
  ip_protocol       = each.value.protocol
  from_port         = each.value.from
  to_port           = each.value.to
  cidr_ipv4         = each.value.cidr
}

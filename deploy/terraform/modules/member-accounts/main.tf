# The member accounts of an AWS Organization, through a service-managed
# CloudFormation StackSet: Terraform has no resource that deploys into every
# account of an OU, and a StackSet also follows accounts that join later
# (auto_deployment). The template is the one `port-aws-exporter rules generate
# --member-accounts` writes, so the read role's permissions and the forwarding
# rules' patterns come from the same library as the exporter's own rules.

resource "aws_cloudformation_stack_set" "member" {
  name             = var.name
  description      = "Port AWS exporter: read role and forwarding rules in the organization's member accounts"
  permission_model = "SERVICE_MANAGED"
  capabilities     = ["CAPABILITY_NAMED_IAM"]
  template_body    = var.template_body

  auto_deployment {
    enabled                          = true
    retain_stacks_on_account_removal = false
  }

  parameters = {
    ExporterAccountId = var.exporter_account_id
    ExporterRegion    = var.exporter_region
    ExporterRoleArn   = var.exporter_role_arn
    ExternalId        = var.external_id
    MemberRoleName    = var.member_role_name
    ReadRoleRegion    = var.read_role_region
  }
}

resource "aws_cloudformation_stack_set_instance" "member" {
  for_each       = toset(var.regions)
  stack_set_name = aws_cloudformation_stack_set.member.name
  region         = each.value

  deployment_targets {
    organizational_unit_ids = var.organizational_unit_ids
  }
}

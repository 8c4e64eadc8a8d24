output "stack_set_name" {
  description = "Name of the StackSet."
  value       = aws_cloudformation_stack_set.member.name
}

output "member_role_name" {
  description = "The read role's name, for aws.organization.member_role_name in the exporter's config and member_role_name of the exporter's module."
  value       = var.member_role_name
}

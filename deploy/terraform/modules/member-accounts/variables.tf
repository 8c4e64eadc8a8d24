variable "name" {
  description = "Name of the StackSet."
  type        = string
  default     = "port-aws-exporter-member-accounts"
}

variable "template_body" {
  description = "The member-account template: file(\"rules.member-account.yaml\"), as `port-aws-exporter rules generate --kinds ... --member-accounts --out-file rules.yaml` writes it."
  type        = string
}

variable "organizational_unit_ids" {
  description = "The OUs (or the root, r-...) whose accounts get the read role and the forwarding rules; accounts below them are included, and so are accounts that join later."
  type        = list(string)

  validation {
    condition     = length(var.organizational_unit_ids) > 0 && alltrue([for id in var.organizational_unit_ids : can(regex("^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$", id))])
    error_message = "Name at least one OU (ou-...) or root (r-...)."
  }
}

variable "regions" {
  description = "Every region the exporter reads in the member accounts (the forwarding rules live there); include read_role_region."
  type        = list(string)
}

variable "exporter_account_id" {
  description = "Account of the exporter, whose default event bus receives the forwarded events (its stack or module sets organization_id so that the bus accepts them)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.exporter_account_id))
    error_message = "An account ID is 12 digits."
  }
}

variable "exporter_region" {
  description = "Region of the exporter and of its event rules."
  type        = string
}

variable "exporter_role_arn" {
  description = "The exporter's role (the Lambda function's, or the IRSA role of the Helm chart): the only principal the read roles trust."
  type        = string
}

variable "external_id" {
  description = "External ID the exporter sends with every AssumeRole (aws.organization.external_id in its config). Not a secret, but unguessable: it guards against the confused deputy."
  type        = string
}

variable "member_role_name" {
  description = "Name of the read role in every member account (aws.organization.member_role_name in the exporter's config)."
  type        = string
  default     = "port-aws-exporter-read"
}

variable "read_role_region" {
  description = "The one region whose stack instance creates the read role (IAM is global)."
  type        = string
  default     = "us-east-1"
}

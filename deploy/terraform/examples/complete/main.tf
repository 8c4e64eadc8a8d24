# A complete installation: the exporter, its configuration and credentials
# secret, and the event rules that feed its queue.
#
#   scripts/build-lambda.sh                      # dist/bootstrap-arm64.zip
#   port-aws-exporter rules generate --kinds lambda-function --format terraform --out-file event-rules/port-aws-exporter-rules.tf
#   terraform init && terraform apply -var bucket_name=<unique bucket name>
#   aws secretsmanager put-secret-value --secret-id port-credentials --secret-string file://port-credentials.json

terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40"
    }
  }
}

provider "aws" {
  region = var.region
}

module "port_aws_exporter" {
  source = "../../modules/port-aws-exporter"

  lambda_zip_path       = var.lambda_zip_path
  architecture          = "arm64"
  bucket_name           = var.bucket_name
  config_json           = file("${path.module}/config.json")
  port_api_url          = var.port_api_url
  resource_read_actions = var.resource_read_actions
  alarm_topic_arn       = var.alarm_topic_arn
  tags                  = var.tags
}

# The rules file in event-rules/ is the output of
# `port-aws-exporter rules generate --format terraform`; it declares
# variable "events_queue_arn", given here from the exporter module.
module "event_rules" {
  source = "./event-rules"

  events_queue_arn = module.port_aws_exporter.events_queue_arn
}

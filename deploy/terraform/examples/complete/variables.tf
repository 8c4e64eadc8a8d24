variable "region" {
  description = "AWS region to install the exporter in."
  type        = string
  default     = "eu-west-1"
}

variable "bucket_name" {
  description = "Name of the S3 bucket created for config.json (globally unique)."
  type        = string
}

variable "lambda_zip_path" {
  description = "Bootstrap zip built by scripts/build-lambda.sh."
  type        = string
  default     = "../../../../dist/bootstrap-arm64.zip"
}

variable "port_api_url" {
  description = "Port API base URL: https://api.getport.io (EU) or https://api.us.getport.io (US)."
  type        = string
  default     = "https://api.getport.io"
}

variable "resource_read_actions" {
  description = "IAM read actions of the kinds in config.json."
  type        = list(string)
  default = [
    "lambda:GetFunction",
    "lambda:GetFunctionCodeSigningConfig",
    "lambda:GetFunctionRecursionConfig",
    "lambda:GetFunctionScalingConfig",
    "lambda:GetRuntimeManagementConfig",
    "lambda:ListFunctions",
  ]
}

variable "alarm_topic_arn" {
  description = "SNS topic for the dead-letter queue alarm (null: no notification)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = { "managed-by" = "terraform", "app" = "port-aws-exporter" }
}

output "events_queue_arn" {
  description = "Events queue ARN (target of the event rules)."
  value       = module.port_aws_exporter.events_queue_arn
}

output "lambda_function_name" {
  description = "Exporter function name, for logs and manual invocations."
  value       = module.port_aws_exporter.lambda_function_name
}

output "port_credentials_secret_arn" {
  description = "Secret to fill with the Port credentials."
  value       = module.port_aws_exporter.port_credentials_secret_arn
}

output "dead_letter_queue_url" {
  description = "Dead-letter queue URL, for inspecting failed events."
  value       = module.port_aws_exporter.dead_letter_queue_url
}

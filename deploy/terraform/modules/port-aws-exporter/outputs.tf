output "events_queue_arn" {
  description = "Events queue ARN: the target of the event rules (variable events_queue_arn of generated rules)."
  value       = aws_sqs_queue.events.arn
}

output "events_queue_url" {
  description = "Events queue URL."
  value       = aws_sqs_queue.events.id
}

output "dead_letter_queue_arn" {
  description = "Dead-letter queue ARN."
  value       = aws_sqs_queue.dead_letter.arn
}

output "dead_letter_queue_url" {
  description = "Dead-letter queue URL."
  value       = aws_sqs_queue.dead_letter.id
}

output "dead_letter_queue_alarm_name" {
  description = "Alarm raised while the dead-letter queue holds messages."
  value       = aws_cloudwatch_metric_alarm.dead_letter_queue.alarm_name
}

output "lambda_function_name" {
  description = "Exporter function name."
  value       = aws_lambda_function.exporter.function_name
}

output "lambda_function_arn" {
  description = "Exporter function ARN."
  value       = aws_lambda_function.exporter.arn
}

output "lambda_role_arn" {
  description = "Exporter execution role ARN."
  value       = aws_iam_role.exporter.arn
}

output "config_bucket_name" {
  description = "Bucket holding config.json."
  value       = var.bucket_name
}

output "config_object_uri" {
  description = "Where the exporter reads its configuration."
  value       = "s3://${var.bucket_name}/${var.config_json_file_key}"
}

output "port_credentials_secret_arn" {
  description = "Secret holding the Port credentials."
  value       = local.port_credentials_secret_arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the exporter (events, queues, dead letters, sync time)."
  value       = aws_cloudwatch_dashboard.exporter.dashboard_name
}

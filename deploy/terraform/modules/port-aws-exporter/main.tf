# The same exporter installation as deploy/cloudformation/template.yaml, for
# Terraform users. Differences are noted where they are deliberate.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  create_secret               = var.port_credentials_secret_arn == null
  port_credentials_secret_arn = local.create_secret ? aws_secretsmanager_secret.port_credentials[0].arn : var.port_credentials_secret_arn
  log_group_name              = "/aws/lambda/${var.function_name}"
  config_object_arn           = "arn:${local.partition}:s3:::${var.bucket_name}/${var.config_json_file_key}"
  continuation_prefix         = "port-aws-exporter/continuations"
  event_rules_arn             = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${var.event_rule_name_prefix}*"
}

# --- configuration bucket and object ---

resource "aws_s3_bucket" "config" {
  count  = var.create_bucket ? 1 : 0
  bucket = var.bucket_name
  tags   = var.tags
}

resource "aws_s3_bucket_public_access_block" "config" {
  count                   = var.create_bucket ? 1 : 0
  bucket                  = aws_s3_bucket.config[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "config" {
  count  = var.create_bucket ? 1 : 0
  bucket = aws_s3_bucket.config[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "config" {
  count  = var.create_bucket ? 1 : 0
  bucket = aws_s3_bucket.config[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

# The states of shard runs that continue across invocations
# (CONTINUATION_STORE): a run removes its own when it completes; abandoned
# ones, and the versions of every overwrite, go here.
resource "aws_s3_bucket_lifecycle_configuration" "config" {
  count  = var.create_bucket ? 1 : 0
  bucket = aws_s3_bucket.config[0].id

  rule {
    id     = "continuation-states"
    status = "Enabled"
    filter {
      prefix = "${local.continuation_prefix}/"
    }
    expiration {
      days = 7
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.config]
}

data "aws_iam_policy_document" "config_bucket" {
  count = var.create_bucket ? 1 : 0

  statement {
    sid       = "DenyUnencryptedTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.config[0].arn, "${aws_s3_bucket.config[0].arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "config" {
  count  = var.create_bucket ? 1 : 0
  bucket = aws_s3_bucket.config[0].id
  policy = data.aws_iam_policy_document.config_bucket[0].json
  # S3 refuses a bucket policy while the public access block is being set.
  depends_on = [aws_s3_bucket_public_access_block.config]
}

resource "aws_s3_object" "config" {
  count        = var.config_json == null ? 0 : 1
  bucket       = var.create_bucket ? aws_s3_bucket.config[0].id : var.bucket_name
  key          = var.config_json_file_key
  content      = var.config_json
  content_type = "application/json"
  tags         = var.tags
}

# --- Port credentials ---

# Created without a value, as in the CloudFormation stack: the client secret
# never enters Terraform state. Fill it once with put-secret-value.
resource "aws_secretsmanager_secret" "port_credentials" {
  count       = local.create_secret ? 1 : 0
  name        = var.secret_name
  description = "Port credentials of port-aws-exporter, as {\"id\":\"<PORT_CLIENT_ID>\",\"clientSecret\":\"<PORT_CLIENT_SECRET>\"}."
  tags        = var.tags
}

# --- queues ---

resource "aws_sqs_queue" "dead_letter" {
  name = "${var.function_name}-dead-letter"
  # Standard queues keep a message's original enqueue time in the dead-letter
  # queue, so this retention must exceed the events queue's: 14 days.
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

resource "aws_sqs_queue" "events" {
  name = "${var.function_name}-events"
  # Lambda requires at least the function timeout.
  visibility_timeout_seconds = 900
  message_retention_seconds  = var.events_message_retention_seconds
  sqs_managed_sse_enabled    = true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter.arn
    maxReceiveCount     = var.events_max_receive_count
  })
  tags = var.tags
}

data "aws_iam_policy_document" "events_queue" {
  statement {
    sid       = "EventBridgeRulesOfThisAccount"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.events.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.event_rules_arn]
    }
  }

  # Whatever IAM policies elsewhere allow: only those rules and the exporter's
  # role (the full sync's shard fan-out) put messages here. Both conditions
  # must hold for the deny to apply; a request without aws:SourceArn (any
  # principal calling SendMessage itself) satisfies ArnNotLike.
  statement {
    sid       = "DenySendExceptEventBridgeRulesAndTheExporter"
    effect    = "Deny"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.events.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "ArnNotLike"
      variable = "aws:SourceArn"
      values   = [local.event_rules_arn]
    }

    condition {
      test     = "ArnNotEquals"
      variable = "aws:PrincipalArn"
      values   = [aws_iam_role.exporter.arn]
    }
  }

  statement {
    sid       = "DenyUnencryptedTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.events.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "events" {
  queue_url = aws_sqs_queue.events.id
  policy    = data.aws_iam_policy_document.events_queue.json
}

data "aws_iam_policy_document" "dead_letter_queue" {
  statement {
    sid       = "DenyUnencryptedTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.dead_letter.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "dead_letter" {
  queue_url = aws_sqs_queue.dead_letter.id
  policy    = data.aws_iam_policy_document.dead_letter_queue.json
}

# --- execution role ---

data "aws_iam_policy_document" "assume_lambda" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "exporter" {
  name_prefix        = "${substr(var.function_name, 0, 32)}-"
  description        = "Execution role of the ${var.function_name} function (port-aws-exporter)"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
  tags               = var.tags
}

data "aws_iam_policy_document" "exporter" {
  statement {
    sid     = "Logs"
    actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [
      aws_cloudwatch_log_group.exporter.arn,
      "${aws_cloudwatch_log_group.exporter.arn}:*",
    ]
  }

  # Cloud Control's read calls have no resource-level permissions.
  statement {
    sid       = "CloudControlRead"
    actions   = ["cloudformation:ListResources", "cloudformation:GetResource"]
    resources = ["*"]
  }

  statement {
    sid       = "WhoAmI"
    actions   = ["sts:GetCallerIdentity"]
    resources = ["*"]
  }

  # Member accounts: the read role of each, by name; the role's own trust
  # policy (the member-account template) names this role and the external ID.
  dynamic "statement" {
    for_each = var.member_role_name == "" ? [] : [var.member_role_name]
    content {
      sid       = "AssumeMemberReadRoles"
      actions   = ["sts:AssumeRole"]
      resources = ["arn:${local.partition}:iam::*:role/${statement.value}"]
    }
  }

  dynamic "statement" {
    for_each = var.organization_id == "" ? [] : [var.organization_id]
    content {
      sid       = "ListOrganizationAccounts"
      actions   = ["organizations:ListAccounts", "organizations:ListAccountsForParent", "organizations:ListOrganizationalUnitsForParent"]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = length(var.resource_read_actions) > 0 ? [var.resource_read_actions] : []
    content {
      sid       = "ConfiguredKindsRead"
      actions   = statement.value
      resources = ["*"]
    }
  }

  statement {
    sid       = "ConfigObjectRead"
    actions   = ["s3:GetObject"]
    resources = [local.config_object_arn]
  }

  statement {
    sid       = "ContinuationStateReadWrite"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["arn:${local.partition}:s3:::${var.bucket_name}/${local.continuation_prefix}/*"]
  }

  statement {
    sid       = "ContinuationStateList"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${var.bucket_name}"]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.continuation_prefix}/*"]
    }
  }

  statement {
    sid       = "PortCredentialsRead"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.port_credentials_secret_arn]
  }

  dynamic "statement" {
    for_each = var.port_credentials_kms_key_arn == null ? [] : [var.port_credentials_kms_key_arn]
    content {
      sid       = "PortCredentialsDecrypt"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${local.region}.amazonaws.com"]
      }
    }
  }

  # Consume events; send the full sync's shard messages (fan-out).
  # GetQueueAttributes/GetQueueUrl: find the dead-letter queue from the
  # redrive policy when DEAD_LETTER_QUEUE_URL is not set.
  statement {
    sid = "EventsQueue"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
      "sqs:SendMessage",
    ]
    resources = [aws_sqs_queue.events.arn]
  }

  statement {
    sid       = "DeadLetterQueue"
    actions   = ["sqs:SendMessage", "sqs:GetQueueUrl"]
    resources = [aws_sqs_queue.dead_letter.arn]
  }
}

resource "aws_iam_role_policy" "exporter" {
  name   = "port-aws-exporter"
  role   = aws_iam_role.exporter.id
  policy = data.aws_iam_policy_document.exporter.json
}

resource "aws_iam_role_policy_attachment" "read_only_access" {
  count      = var.use_read_only_access_policy ? 1 : 0
  role       = aws_iam_role.exporter.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/ReadOnlyAccess"
}

resource "aws_iam_role_policy_attachment" "custom" {
  count      = var.custom_iam_policy_arn == null ? 0 : 1
  role       = aws_iam_role.exporter.name
  policy_arn = var.custom_iam_policy_arn
}

# --- function ---

resource "aws_cloudwatch_log_group" "exporter" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_in_days
  tags              = var.tags
}

resource "aws_lambda_function" "exporter" {
  function_name = var.function_name
  description   = "port-aws-exporter - syncs AWS resources into Port's software catalog"
  role          = aws_iam_role.exporter.arn
  runtime       = "provided.al2023"
  handler       = "bootstrap"
  architectures = [var.architecture]
  timeout       = 900
  memory_size   = var.memory_size

  filename          = var.lambda_zip_path
  source_code_hash  = var.lambda_zip_path == null ? null : filebase64sha256(var.lambda_zip_path)
  s3_bucket         = var.lambda_s3_bucket
  s3_key            = var.lambda_s3_key
  s3_object_version = var.lambda_s3_object_version

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.exporter.name
  }

  # The names the binary reads (docs/install.md, "Runtime settings").
  environment {
    variables = {
      BUCKET_NAME           = var.bucket_name
      CONFIG_JSON_FILE_KEY  = var.config_json_file_key
      PORT_CREDS_SECRET_ARN = local.port_credentials_secret_arn
      PORT_API_URL          = var.port_api_url
      EVENTS_QUEUE_URL      = aws_sqs_queue.events.id
      DEAD_LETTER_QUEUE_URL = aws_sqs_queue.dead_letter.id
      CONTINUATION_STORE    = "s3://${var.bucket_name}/${local.continuation_prefix}"
    }
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = (var.lambda_zip_path != null) != (var.lambda_s3_bucket != null && var.lambda_s3_key != null)
      error_message = "Give either lambda_zip_path or both lambda_s3_bucket and lambda_s3_key."
    }
  }

  # The role's policy must exist before the function can read its queue.
  depends_on = [aws_iam_role_policy.exporter]
}

resource "aws_lambda_event_source_mapping" "events" {
  function_name    = aws_lambda_function.exporter.arn
  event_source_arn = aws_sqs_queue.events.arn
  enabled          = true
  batch_size       = var.events_batch_size
  # The function answers which messages failed; only those are retried.
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.events_maximum_concurrency
  }
}

# --- full sync schedule ---

resource "aws_cloudwatch_event_rule" "schedule" {
  name                = "${var.function_name}-full-sync"
  description         = "Full sync of ${var.function_name} (port-aws-exporter)"
  schedule_expression = var.schedule_expression
  state               = var.schedule_enabled ? "ENABLED" : "DISABLED"
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "schedule" {
  rule      = aws_cloudwatch_event_rule.schedule.name
  target_id = "LambdaFunctionScheduleLambdaTarget"
  arn       = aws_lambda_function.exporter.arn
}

resource "aws_lambda_permission" "schedule" {
  statement_id   = "FullSyncSchedule"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.exporter.function_name
  principal      = "events.amazonaws.com"
  source_account = local.account_id
  source_arn     = aws_cloudwatch_event_rule.schedule.arn
}

# --- alarms and dashboard ---
#
# The function writes the metrics of serve's /metrics as CloudWatch Embedded
# Metric Format lines (namespace PortAWSExporter; docs/metrics.md).

resource "aws_cloudwatch_metric_alarm" "dead_letter_queue" {
  alarm_name          = "${var.function_name}-dead-letter-queue"
  alarm_description   = "Events that ${var.function_name} could not handle wait in the dead-letter queue; read them, fix the cause, then redrive them."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dead_letter.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  ok_actions          = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "events_queue_age" {
  alarm_name          = "${var.function_name}-events-queue-age"
  alarm_description   = "The oldest event waiting for ${var.function_name} is older than ${var.alarm_oldest_message_age_seconds} s: events are not keeping up (throttling, errors, or too little concurrency)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.events.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 2
  threshold           = var.alarm_oldest_message_age_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  ok_actions          = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "events_failed" {
  alarm_name          = "${var.function_name}-events-failed"
  alarm_description   = "More than ${var.alarm_events_failed_threshold} event messages of ${var.function_name} failed (transient or permanent) in 5 minutes; its log says why (failures_total by cause)."
  evaluation_periods  = 1
  threshold           = var.alarm_events_failed_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  ok_actions          = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  tags                = var.tags

  metric_query {
    id          = "failed"
    label       = "failed events"
    expression  = "FILL(transient, 0) + FILL(permanent, 0)"
    return_data = true
  }
  dynamic "metric_query" {
    for_each = toset(["transient", "permanent"])
    content {
      id          = metric_query.value
      return_data = false
      metric {
        namespace   = "PortAWSExporter"
        metric_name = "port_aws_exporter_events_total"
        dimensions  = { outcome = metric_query.value }
        period      = 300
        stat        = "Sum"
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "sync_duration" {
  alarm_name          = "${var.function_name}-sync-duration"
  alarm_description   = "Shard syncs of one ${var.function_name} invocation took more than ${var.alarm_sync_duration_seconds} s; the function stops at 900 s."
  namespace           = "PortAWSExporter"
  metric_name         = "port_aws_exporter_sync_duration_seconds_sum"
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.alarm_sync_duration_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  ok_actions          = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_dashboard" "exporter" {
  dashboard_name = "${var.function_name}-${local.region}"
  dashboard_body = jsonencode({
    widgets = [
      { type = "metric", x = 0, y = 0, width = 12, height = 6, properties = {
        title   = "Events by outcome", region = local.region, stat = "Sum", period = 300, view = "timeSeries", stacked = true,
        metrics = [["PortAWSExporter", "port_aws_exporter_events_total", "outcome", "ok"], ["...", "duplicate"], ["...", "transient"], ["...", "permanent"]]
      } },
      { type = "metric", x = 12, y = 0, width = 12, height = 6, properties = {
        title = "Events queue", region = local.region, period = 300, view = "timeSeries",
        metrics = [
          ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", aws_sqs_queue.events.name, { stat = "Maximum" }],
          [".", "ApproximateAgeOfOldestMessage", ".", ".", { stat = "Maximum", yAxis = "right" }],
          [".", "ApproximateNumberOfMessagesVisible", ".", aws_sqs_queue.dead_letter.name, { stat = "Maximum", label = "dead-letter queue" }],
        ]
      } },
      { type = "metric", x = 0, y = 6, width = 12, height = 6, properties = {
        title   = "Dead letters and failures", region = local.region, stat = "Sum", period = 300, view = "timeSeries",
        metrics = [["PortAWSExporter", "port_aws_exporter_dead_letter_messages_total"], [".", "port_aws_exporter_sync_failures_total"]]
      } },
      { type = "metric", x = 12, y = 6, width = 12, height = 6, properties = {
        title = "Shard sync time per invocation (s)", region = local.region, period = 300, view = "timeSeries",
        metrics = [
          ["PortAWSExporter", "port_aws_exporter_sync_duration_seconds_sum", { stat = "Maximum" }],
          [".", "port_aws_exporter_sync_duration_seconds_count", { stat = "Sum", yAxis = "right", label = "shards synced" }],
        ]
      } },
      { type = "metric", x = 0, y = 12, width = 24, height = 6, properties = {
        title = "Function", region = local.region, period = 300, view = "timeSeries",
        metrics = [
          ["AWS/Lambda", "Invocations", "FunctionName", aws_lambda_function.exporter.function_name, { stat = "Sum" }],
          [".", "Errors", ".", ".", { stat = "Sum" }],
          [".", "Throttles", ".", ".", { stat = "Sum" }],
          [".", "Duration", ".", ".", { stat = "Maximum", yAxis = "right" }],
        ]
      } },
    ]
  })
}

# --- an AWS Organization's member accounts (docs/accounts.md) ---

# Member accounts' forwarding rules put their events on this account's default
# bus, where the event rules send them to the queue. A member cannot put events
# with an aws.* source itself (PutEvents refuses them), and the exporter only
# re-reads what a message names.
data "aws_iam_policy_document" "organization_event_bus" {
  count = var.organization_id == "" ? 0 : 1

  statement {
    sid       = "${var.function_name}-organization"
    actions   = ["events:PutEvents"]
    resources = ["arn:${local.partition}:events:${local.region}:${local.account_id}:event-bus/default"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:PrincipalOrgID"
      values   = [var.organization_id]
    }
  }
}

resource "aws_cloudwatch_event_bus_policy" "organization" {
  count          = var.organization_id == "" ? 0 : 1
  event_bus_name = "default"
  policy         = data.aws_iam_policy_document.organization_event_bus[0].json
}

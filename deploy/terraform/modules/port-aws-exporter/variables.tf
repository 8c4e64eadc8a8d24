# --- exporter code ---

variable "lambda_zip_path" {
  description = "Local path of the bootstrap zip built by scripts/build-lambda.sh (dist/bootstrap-arm64.zip for arm64). Give this or lambda_s3_bucket and lambda_s3_key."
  type        = string
  default     = null
}

variable "lambda_s3_bucket" {
  description = "S3 bucket (same region) holding the bootstrap zip, instead of lambda_zip_path."
  type        = string
  default     = null
}

variable "lambda_s3_key" {
  description = "Key of the bootstrap zip in lambda_s3_bucket."
  type        = string
  default     = null
}

variable "lambda_s3_object_version" {
  description = "Version of the bootstrap zip object in a versioned lambda_s3_bucket."
  type        = string
  default     = null
}

variable "architecture" {
  description = "Instruction set of the function: arm64 (bootstrap-arm64.zip) or x86_64 (bootstrap-amd64.zip)."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "The architecture must be arm64 or x86_64."
  }
}

variable "function_name" {
  description = "Name of the exporter Lambda function (and prefix of the other resources' names)."
  type        = string
  default     = "port-aws-exporter"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "The function name must be 1 to 64 letters, digits, hyphens or underscores."
  }
}

variable "memory_size" {
  description = "Memory of the function in MB."
  type        = number
  default     = 1024

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "The memory size must be between 128 and 10240 MB."
  }
}

# --- configuration (config.json) ---

variable "create_bucket" {
  description = "Create the configuration bucket bucket_name (true) or use an existing one (false)."
  type        = bool
  default     = true
}

variable "bucket_name" {
  description = "Name of the S3 bucket holding config.json."
  type        = string
}

variable "config_json_file_key" {
  description = "Key of config.json in bucket_name. The exporter may read only this object."
  type        = string
  default     = "config.json"
}

variable "config_json" {
  description = "Content of config.json to upload (e.g. file(\"config.json\")); null leaves the object to you."
  type        = string
  default     = null
}

# --- Port ---

variable "port_api_url" {
  description = "Port API base URL: https://api.getport.io (EU) or https://api.us.getport.io (US)."
  type        = string
  default     = "https://api.getport.io"

  validation {
    condition     = startswith(var.port_api_url, "https://")
    error_message = "The Port API URL must use https."
  }
}

variable "port_credentials_secret_arn" {
  description = "ARN of an existing secret holding {\"id\":\"<PORT_CLIENT_ID>\",\"clientSecret\":\"<PORT_CLIENT_SECRET>\"}. Null creates an empty secret named secret_name, to fill once with put-secret-value."
  type        = string
  default     = null
}

variable "port_credentials_kms_key_arn" {
  description = "Customer managed KMS key encrypting port_credentials_secret_arn, if any."
  type        = string
  default     = null
}

variable "secret_name" {
  description = "Name of the Port credentials secret created when port_credentials_secret_arn is null."
  type        = string
  default     = "port-credentials"
}

# --- read permissions of the configured kinds ---

variable "resource_read_actions" {
  description = "IAM actions that read the kinds in config.json; Cloud Control needs them besides cloudformation:ListResources/GetResource. The default covers every kind of the rule library (generated from AWS's resource schemas); for the least, split `port-aws-exporter iam policy --config config.json -o actions` on commas."
  type        = list(string)
  default = [
    "apigateway:GET",
    "autoscaling:Describe*",
    "cloudformation:DescribeStacks",
    "cloudformation:GetStackPolicy",
    "cloudformation:GetTemplate",
    "cloudformation:ListStacks",
    "cloudfront:GetDistribution",
    "cloudfront:GetDistributionConfig",
    "cloudfront:ListDistributions",
    "cloudfront:ListTagsForResource",
    "dynamodb:DescribeContinuousBackups",
    "dynamodb:DescribeContributorInsights",
    "dynamodb:DescribeKinesisStreamingDestination",
    "dynamodb:DescribeTable",
    "dynamodb:DescribeTimeToLive",
    "dynamodb:GetResourcePolicy",
    "dynamodb:ListTables",
    "dynamodb:ListTagsOfResource",
    "ec2:DescribeAccountAttributes",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeInstanceAttribute",
    "ec2:DescribeInstanceCreditSpecifications",
    "ec2:DescribeInstances",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVolumes",
    "ec2:DescribeVpcAttribute",
    "ec2:DescribeVpcEncryptionControls",
    "ec2:DescribeVpcs",
    "ecr:DescribeRepositories",
    "ecr:GetLifecyclePolicy",
    "ecr:GetRepositoryPolicy",
    "ecr:ListTagsForResource",
    "ecs:DescribeClusters",
    "ecs:DescribeServices",
    "ecs:ListClusters",
    "ecs:ListServices",
    "eks:DescribeCluster",
    "eks:ListClusters",
    "elasticache:DescribeCacheClusters",
    "elasticache:ListTagsForResource",
    "elasticfilesystem:DescribeBackupPolicy",
    "elasticfilesystem:DescribeFileSystemPolicy",
    "elasticfilesystem:DescribeFileSystems",
    "elasticfilesystem:DescribeLifecycleConfiguration",
    "elasticfilesystem:DescribeReplicationConfigurations",
    "elasticloadbalancing:DescribeCapacityReservation",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:ListRoles",
    "kinesis:DescribeStreamSummary",
    "kinesis:ListStreams",
    "kinesis:ListTagsForResource",
    "kinesis:ListTagsForStream",
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListKeys",
    "kms:ListResourceTags",
    "lambda:GetFunction",
    "lambda:GetFunctionCodeSigningConfig",
    "lambda:GetFunctionRecursionConfig",
    "lambda:GetFunctionScalingConfig",
    "lambda:GetRuntimeManagementConfig",
    "lambda:ListFunctions",
    "logs:DescribeLogGroups",
    "logs:GetDataProtectionPolicy",
    "logs:GetLogDelivery",
    "logs:ListTagsForResource",
    "managed-fleets:Get*",
    "rds:DescribeDBClusters",
    "rds:DescribeDBInstances",
    "s3:GetAccelerateConfiguration",
    "s3:GetAnalyticsConfiguration",
    "s3:GetBucketCORS",
    "s3:GetBucketLogging",
    "s3:GetBucketMetadataTableConfiguration",
    "s3:GetBucketNotification",
    "s3:GetBucketObjectLockConfiguration",
    "s3:GetBucketOwnershipControls",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketTagging",
    "s3:GetBucketVersioning",
    "s3:GetBucketWebsite",
    "s3:GetEncryptionConfiguration",
    "s3:GetIntelligentTieringConfiguration",
    "s3:GetInventoryConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:GetMetricsConfiguration",
    "s3:GetReplicationConfiguration",
    "s3:ListAllMyBuckets",
    "s3:ListBucket",
    "sns:GetDataProtectionPolicy",
    "sns:GetTopicAttributes",
    "sns:ListSubscriptionsByTopic",
    "sns:ListTagsForResource",
    "sns:ListTopics",
    "sqs:GetQueueAttributes",
    "sqs:ListQueues",
    "sqs:ListQueueTags",
    "ssm:DescribeAssociation",
    "ssm:ListAssociations",
    "states:DescribeStateMachine",
    "states:ListStateMachines",
    "states:ListTagsForResource",
  ]
}

variable "use_read_only_access_policy" {
  description = "Attach the AWS managed ReadOnlyAccess policy instead of listing read actions."
  type        = bool
  default     = false
}

variable "custom_iam_policy_arn" {
  description = "ARN of an extra managed policy to attach to the exporter's role."
  type        = string
  default     = null
}

# --- full sync schedule ---

variable "schedule_expression" {
  description = "When the full sync runs (EventBridge rate(...) or cron(...))."
  type        = string
  default     = "rate(1 hour)"
}

variable "schedule_enabled" {
  description = "Whether the full sync schedule is enabled."
  type        = bool
  default     = true
}

# --- event-based updates ---

variable "events_batch_size" {
  description = "Largest number of queued events one invocation handles."
  type        = number
  default     = 10

  validation {
    condition     = var.events_batch_size >= 1 && var.events_batch_size <= 10
    error_message = "The batch size must be between 1 and 10."
  }
}

variable "events_maximum_concurrency" {
  description = "Most concurrent invocations the events queue may start."
  type        = number
  default     = 2

  validation {
    condition     = var.events_maximum_concurrency >= 2 && var.events_maximum_concurrency <= 1000
    error_message = "The maximum concurrency must be between 2 and 1000."
  }
}

variable "events_max_receive_count" {
  description = "Attempts at an event before it moves to the dead-letter queue."
  type        = number
  default     = 3
}

variable "events_message_retention_seconds" {
  description = "How long an event may wait in the events queue; keep it above events_max_receive_count x 900 s."
  type        = number
  default     = 86400

  validation {
    condition     = var.events_message_retention_seconds >= 3600 && var.events_message_retention_seconds <= 345600
    error_message = "The retention must be between 3600 and 345600 seconds."
  }
}

variable "event_rule_name_prefix" {
  description = "Only EventBridge rules of this account and region whose names start with this prefix may send to the events queue (besides the exporter's role); empty: every rule. Generated rules are named port-aws-exporter-sync-..."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^[-._A-Za-z0-9]{0,63}$", var.event_rule_name_prefix))
    error_message = "A rule name prefix holds at most 63 letters, digits, '.', '-' and '_'."
  }
}

# --- an AWS Organization's member accounts (docs/accounts.md) ---

variable "organization_id" {
  description = "The organization whose member accounts forward their resource changes to this account's default event bus (the member-account template of `rules generate --member-accounts`, deployed as a StackSet): an event bus policy lets the organization's principals put events there, and the function may list the organization's accounts and OUs (this must be the management or a delegated administrator account). Empty: neither."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^(o-[a-z0-9]{10,32})?$", var.organization_id))
    error_message = "An organization ID is o- and 10 to 32 lowercase letters or digits."
  }
}

variable "member_role_name" {
  description = "The read role the exporter assumes in member accounts (aws.organization.member_role_name, or the roles of aws.accounts; the member-account template's MemberRoleName, by default port-aws-exporter-read). Empty: the function may assume no role."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^([-\\w+=,.@/]{1,512})?$", var.member_role_name))
    error_message = "A role name (or path/name) of letters, digits and +=,.@/_-."
  }
}

# --- operations ---

variable "alarm_topic_arn" {
  description = "SNS topic notified by the module's alarms (dead-letter queue, oldest event, failed events, sync duration)."
  type        = string
  default     = null
}

variable "alarm_oldest_message_age_seconds" {
  description = "Alarm when the oldest message of the events queue is older than this (events are not keeping up)."
  type        = number
  default     = 900
}

variable "alarm_events_failed_threshold" {
  description = "Alarm when more event messages than this fail (transient or permanent) within 5 minutes."
  type        = number
  default     = 10
}

variable "alarm_sync_duration_seconds" {
  description = "Alarm when the shard syncs of one invocation take longer than this in total (the function stops at 900 s)."
  type        = number
  default     = 600
}

variable "log_retention_in_days" {
  description = "Days the function's logs are kept."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags for every resource the module creates."
  type        = map(string)
  default     = {}
}

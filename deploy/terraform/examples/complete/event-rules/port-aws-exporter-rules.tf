variable "events_queue_arn" {
  type        = string
  description = "ARN of the Port AWS exporter's events queue (the EventsQueueARN output of its stack)"
}

resource "aws_cloudwatch_event_rule" "lambda_function" {
  name           = "port-aws-exporter-sync-lambda-function"
  description    = "Sends changes of AWS::Lambda::Function to the Port AWS exporter's events queue"
  event_bus_name = "default"
  event_pattern = jsonencode({
    detail = {
      "$or" = [{
        errorCode = [{
          exists = false
        }]
        eventName = [{
          prefix = "CreateFunction20"
          }, {
          prefix = "UpdateFunctionConfiguration20"
          }, {
          prefix = "UpdateFunctionCode20"
          }, {
          prefix = "DeleteFunction20"
        }]
        eventSource = ["lambda.amazonaws.com"]
        }, {
        errorCode = [{
          exists = false
        }]
        eventName = [{
          prefix = "TagResource20"
          }, {
          prefix = "UntagResource20"
        }]
        eventSource = ["lambda.amazonaws.com"]
        requestParameters = {
          resource = [{
            wildcard = "arn:*:lambda:*:*:function:*"
          }]
        }
      }]
    }
    detail-type = ["AWS API Call via CloudTrail"]
    source      = ["aws.lambda"]
  })
}

resource "aws_cloudwatch_event_target" "lambda_function" {
  rule           = aws_cloudwatch_event_rule.lambda_function.name
  event_bus_name = "default"
  target_id      = "PortAWSExporterEventsQueue"
  arn            = var.events_queue_arn
  input_transformer {
    input_paths = {
      awsAccount           = "$.account"
      awsRecipientAccount  = "$.detail.recipientAccountId"
      awsRegion            = "$.region"
      eventName            = "$.detail.eventName"
      recipientAccountId   = "$.detail.recipientAccountId"
      requestFunctionName  = "$.detail.requestParameters.functionName"
      requestQualifier     = "$.detail.requestParameters.qualifier"
      requestResource      = "$.detail.requestParameters.resource"
      responseFunctionName = "$.detail.responseElements.functionName"
    }
    input_template = "{\n  \"resource_type\": \"AWS::Lambda::Function\",\n  \"region\": \".awsRegion\",\n  \"action\": \"((.requestFunctionName // \\\"\\\") | split(\\\":\\\") | length) as $parts | if ((.eventName // \\\"\\\") | startswith(\\\"DeleteFunction20\\\")) and (.requestQualifier // \\\"\\\") == \\\"\\\" and $parts % 2 == 1 then \\\"delete\\\" else \\\"upsert\\\" end\",\n  \"identifier\": \"if (((.requestFunctionName // \\\"\\\") | split(\\\":\\\") | length) as $parts | if ((.eventName // \\\"\\\") | startswith(\\\"DeleteFunction20\\\")) and (.requestQualifier // \\\"\\\") == \\\"\\\" and $parts % 2 == 1 then \\\"delete\\\" else \\\"upsert\\\" end) == \\\"delete\\\" then (([.responseFunctionName, .requestFunctionName, .requestResource] | map(select(. != null and . != \\\"\\\")) | first | split(\\\":\\\") | if length >= 7 then .[6] elif length >= 3 then .[2] else .[0] end) as $name | \\\"arn:\\\" + (.awsRegion | if startswith(\\\"cn-\\\") then \\\"aws-cn\\\" elif startswith(\\\"eusc-\\\") then \\\"aws-eusc\\\" elif startswith(\\\"us-iso-\\\") then \\\"aws-iso\\\" elif startswith(\\\"us-isob-\\\") then \\\"aws-iso-b\\\" elif startswith(\\\"eu-isoe-\\\") then \\\"aws-iso-e\\\" elif startswith(\\\"us-isof-\\\") then \\\"aws-iso-f\\\" elif startswith(\\\"us-gov-\\\") then \\\"aws-us-gov\\\" else \\\"aws\\\" end) + \\\":lambda:\\\" + .awsRegion + \\\":\\\" + .recipientAccountId + \\\":function:\\\" + $name) else ([.responseFunctionName, .requestFunctionName, .requestResource] | map(select(. != null and . != \\\"\\\")) | first | split(\\\":\\\") | if length >= 7 then .[6] elif length >= 3 then .[2] else .[0] end) end\",\n  \"resource_identifier\": \"[.responseFunctionName, .requestFunctionName, .requestResource] | map(select(. != null and . != \\\"\\\")) | first | split(\\\":\\\") | if length >= 7 then .[6] elif length >= 3 then .[2] else .[0] end\",\n  \"entity_identifier\": \"([.responseFunctionName, .requestFunctionName, .requestResource] | map(select(. != null and . != \\\"\\\")) | first | split(\\\":\\\") | if length >= 7 then .[6] elif length >= 3 then .[2] else .[0] end) as $name | \\\"arn:\\\" + (.awsRegion | if startswith(\\\"cn-\\\") then \\\"aws-cn\\\" elif startswith(\\\"eusc-\\\") then \\\"aws-eusc\\\" elif startswith(\\\"us-iso-\\\") then \\\"aws-iso\\\" elif startswith(\\\"us-isob-\\\") then \\\"aws-iso-b\\\" elif startswith(\\\"eu-isoe-\\\") then \\\"aws-iso-e\\\" elif startswith(\\\"us-isof-\\\") then \\\"aws-iso-f\\\" elif startswith(\\\"us-gov-\\\") then \\\"aws-us-gov\\\" else \\\"aws\\\" end) + \\\":lambda:\\\" + .awsRegion + \\\":\\\" + .recipientAccountId + \\\":function:\\\" + $name\",\n  \"account_id\": \".awsRecipientAccount // .awsAccount\",\n  \"awsAccount\": <awsAccount>,\n  \"awsRecipientAccount\": <awsRecipientAccount>,\n  \"awsRegion\": <awsRegion>,\n  \"eventName\": <eventName>,\n  \"recipientAccountId\": <recipientAccountId>,\n  \"requestFunctionName\": <requestFunctionName>,\n  \"requestQualifier\": <requestQualifier>,\n  \"requestResource\": <requestResource>,\n  \"responseFunctionName\": <responseFunctionName>\n}"
  }
}

{{/* Name of the chart, overridable. */}}
{{- define "port-aws-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name of the release's objects: <release>-<chart>, or the release name when it already holds the chart's. */}}
{{- define "port-aws-exporter.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "port-aws-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "port-aws-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "port-aws-exporter.labels" -}}
{{ include "port-aws-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "port-aws-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "port-aws-exporter.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The config.json text: configJson as given, else config as JSON. */}}
{{- define "port-aws-exporter.configJson" -}}
{{- default (toJson .Values.config) .Values.configJson -}}
{{- end -}}

{{/* "true" when more than one replica may run: replicaCount > 1 or KEDA. */}}
{{- define "port-aws-exporter.multiReplica" -}}
{{- if or .Values.keda.enabled (gt (int .Values.replicaCount) 1) -}}true{{- end -}}
{{- end -}}

{{- define "llm-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "llm-gateway.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "llm-gateway.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "llm-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "llm-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "llm-gateway.labels" -}}
helm.sh/chart: {{ include "llm-gateway.chart" . }}
{{ include "llm-gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: llm-gateway
{{- end }}

{{- define "llm-gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "llm-gateway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "llm-gateway.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The Secret the pods read: the operator's, or the one this chart creates. */}}
{{- define "llm-gateway.secretName" -}}
{{- if .Values.secret.existingSecret }}
{{- .Values.secret.existingSecret }}
{{- else if .Values.secret.create }}
{{- printf "%s-secrets" (include "llm-gateway.fullname" .) }}
{{- else }}
{{- fail "set secret.existingSecret to a Secret holding ADMIN_API_KEY and DATABASE_URL, or secret.create=true" }}
{{- end }}
{{- end }}

{{- define "llm-gateway.catalogConfigMapName" -}}
{{- default (printf "%s-catalog" (include "llm-gateway.fullname" .)) .Values.catalog.existingConfigMap }}
{{- end }}

{{- define "llm-gateway.hasCatalog" -}}
{{- if or .Values.catalog.content .Values.catalog.existingConfigMap }}true{{ end }}
{{- end }}

{{/*
terminationGracePeriodSeconds: Kubernetes SIGKILLs the pod when it runs out, so it must cover the
preStop sleep, the drain delay and SHUTDOWN_GRACE_MS together, plus time to flush audit records.
*/}}
{{- define "llm-gateway.terminationGracePeriodSeconds" -}}
{{- $s := .Values.shutdown }}
{{- $needMs := add (mul (int $s.preStopSleepSeconds) 1000) (int $s.drainDelayMs) (int $s.graceMs) }}
{{- $tgps := 0 }}
{{- if $s.terminationGracePeriodSeconds }}
{{- $tgps = int $s.terminationGracePeriodSeconds }}
{{- else }}
{{- $tgps = add (div (add $needMs 999) 1000) 10 }}
{{- end }}
{{- if le (mul $tgps 1000) $needMs }}
{{- fail (printf "shutdown.terminationGracePeriodSeconds (%d s) must exceed preStopSleepSeconds + drainDelayMs + graceMs (%d ms)" $tgps $needMs) }}
{{- end }}
{{- $tgps }}
{{- end }}

{{/* Pod environment shared by the gateway and the migration Job. */}}
{{- define "llm-gateway.secretEnv" -}}
{{- $secret := include "llm-gateway.secretName" . }}
{{- range .Values.secretEnv }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ .name }}
      optional: {{ .optional }}
{{- end }}
{{- end }}

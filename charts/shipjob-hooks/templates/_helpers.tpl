{{/* Chart name, truncated to 63 characters. */}}
{{- define "shipjob-hooks.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart unless the release name already contains the chart name. */}}
{{- define "shipjob-hooks.fullname" -}}
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

{{- define "shipjob-hooks.selectorLabels" -}}
app.kubernetes.io/name: {{ include "shipjob-hooks.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "shipjob-hooks.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "shipjob-hooks.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: deploy-hooks
{{- end }}

{{- define "shipjob-hooks.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "shipjob-hooks.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image: repository@digest when image.digest is set, else repository:tag. */}}
{{- define "shipjob-hooks.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The served namespaces, sorted, unique and comma-separated: server.namespaces,
else the release namespace. Every namespace is never an option (H4 of the
2026-11-30 review, docs/security.md).
*/}}
{{- define "shipjob-hooks.namespaces" -}}
{{- if .Values.server.allNamespaces }}
{{- fail "server.allNamespaces was removed: list the namespaces to serve in server.namespaces (see docs/security.md)" }}
{{- end }}
{{- $namespaces := .Values.server.namespaces | default (list .Release.Namespace) }}
{{- range $namespaces }}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$" (toString .)) }}
{{- fail (printf "server.namespaces: %q is not a namespace name" (toString .)) }}
{{- end }}
{{- end }}
{{- $namespaces | uniq | sortAlpha | join "," }}
{{- end }}

{{/* Name of the cluster-scoped role and of the bindings in served namespaces: unique per release. */}}
{{- define "shipjob-hooks.rbacName" -}}
{{- printf "%s-%s" .Release.Namespace (include "shipjob-hooks.fullname" .) | trunc 253 | trimSuffix "-" }}
{{- end }}

{{/* "true" when the replicas elect a leader: only run-end processing needs one. */}}
{{- define "shipjob-hooks.leaderElection" -}}
{{- and .Values.notifications.enabled .Values.leaderElection.enabled }}
{{- end }}

{{/* The Lease of leader election (release namespace): leaderElection.leaseName, else the full name. */}}
{{- define "shipjob-hooks.leaseName" -}}
{{- $name := .Values.leaderElection.leaseName | default (include "shipjob-hooks.fullname" .) | toString }}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$" $name) }}
{{- fail (printf "leaderElection.leaseName: %q is not a Lease name (lower-case DNS subdomain)" $name) }}
{{- end }}
{{- if gt (len $name) 253 }}
{{- fail (printf "leaderElection.leaseName: %q is longer than 253 characters" $name) }}
{{- end }}
{{- $name }}
{{- end }}

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
which must be set. Every namespace is never an option (H4 of the 2026-11-30
review), and the release namespace only with server.allowReleaseNamespace
(N4 of the 2026-12-06 review): serving it would let the server rewrite this
chart's own Helm release records, which an administrator's `helm rollback`
then applies with the administrator's rights (docs/security.md).
*/}}
{{- define "shipjob-hooks.namespaces" -}}
{{- if .Values.server.allNamespaces }}
{{- fail "server.allNamespaces was removed: list the namespaces to serve in server.namespaces (see docs/security.md)" }}
{{- end }}
{{- $namespaces := .Values.server.namespaces }}
{{- if and $namespaces (not (kindIs "slice" $namespaces)) }}
{{- fail (printf "server.namespaces must be a list, e.g. --set 'server.namespaces={jobs}', not %q" (toString $namespaces)) }}
{{- end }}
{{- /* --set 'server.namespaces={}' is a list of one empty string. */}}
{{- $namespaces = $namespaces | default (list) | compact }}
{{- if not $namespaces }}
{{- fail (printf "server.namespaces is required: the jobs namespaces to serve, other than the release namespace %q, e.g. --set 'server.namespaces={jobs}' (see docs/security.md)" .Release.Namespace) }}
{{- end }}
{{- range $namespaces }}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$" (toString .)) }}
{{- fail (printf "server.namespaces: %q is not a namespace name" (toString .)) }}
{{- end }}
{{- end }}
{{- if and (has .Release.Namespace $namespaces) (not .Values.server.allowReleaseNamespace) }}
{{- fail (printf "server.namespaces contains the release namespace %q: the server could rewrite this chart's own release records, which a later helm rollback applies; install the chart in a namespace of its own, or set server.allowReleaseNamespace=true on purpose (see docs/security.md)" .Release.Namespace) }}
{{- end }}
{{- $namespaces | uniq | sortAlpha | join "," }}
{{- end }}

{{/* Name of the cluster-scoped role and of the bindings in served namespaces: unique per release. */}}
{{- define "shipjob-hooks.rbacName" -}}
{{- printf "%s-%s" .Release.Namespace (include "shipjob-hooks.fullname" .) | trunc 253 | trimSuffix "-" }}
{{- end }}

{{/* "true" when the replicas elect a leader: only run-end processing needs one. */}}
{{- define "shipjob-hooks.leaderElection" -}}
{{- and (or .Values.notifications.enabled .Values.server.schedules) .Values.leaderElection.enabled }}
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

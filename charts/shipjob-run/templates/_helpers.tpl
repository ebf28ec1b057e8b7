{{/* Labels shared by the Job and its pods; the job's own labels last. */}}
{{- define "shipjob-run.labels" -}}
app.kubernetes.io/name: shipjob-run
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
shipjob.dev/job: {{ .Values.job | quote }}
shipjob.dev/run: {{ .Values.run | quote }}
{{- range $k, $v := .Values.labels }}
{{- if not (or (hasPrefix "shipjob.dev/" $k) (hasPrefix "app.kubernetes.io/" $k) (eq $k "helm.sh/chart")) }}
{{ $k | quote }}: {{ $v | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The chart name, or nameOverride. */}}
{{- define "krakenops.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release-qualified name. Kubernetes names are DNS labels of at most 63 characters, so it
is cut there (and a trailing dash removed) rather than failing at install time.
*/}}
{{- define "krakenops.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "krakenops.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "krakenops.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Labels every object of the release carries. */}}
{{- define "krakenops.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "krakenops.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: krakenops
{{- end }}

{{/* The labels a selector matches; never change them on upgrade. */}}
{{- define "krakenops.selectorLabels" -}}
app.kubernetes.io/name: {{ include "krakenops.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "krakenops.operatorImage" -}}
{{ .Values.operator.image.repository }}:{{ .Values.operator.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* The restricted Pod Security Standard, for every container the chart runs. */}}
{{- define "krakenops.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* fullname plus a component suffix, still a 63-character DNS label: the prefix gives way. */}}
{{- define "krakenops.component" -}}
{{- $room := sub 62 (len .suffix) | int }}
{{- printf "%s-%s" (include "krakenops.fullname" .root | trunc $room | trimSuffix "-") .suffix }}
{{- end }}

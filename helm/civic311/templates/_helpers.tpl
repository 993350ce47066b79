{{- define "civic311.name" -}}
{{- .Chart.Name -}}
{{- end -}}

{{- define "civic311.labels" -}}
app.kubernetes.io/name: {{ include "civic311.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "civic311.selector" -}}
app.kubernetes.io/name: {{ include "civic311.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

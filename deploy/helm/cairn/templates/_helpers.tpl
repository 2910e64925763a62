{{/* Names are cut to 63 characters: the limit of a label value and of most object names. */}}
{{- define "cairn.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cairn.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "cairn.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cairn.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "cairn.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "cairn.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: cairn
{{- end -}}

{{- define "cairn.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "cairn.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Where the data volume is mounted: the SQLite store, and the read model of any store. */}}
{{- define "cairn.dataDir" -}}/var/lib/cairn{{- end -}}

{{- define "cairn.storeUrl" -}}
{{- default (printf "sqlite:%s/events.db" (include "cairn.dataDir" .)) .Values.store.url -}}
{{- end -}}

{{- define "cairn.sqlite" -}}
{{- if hasPrefix "sqlite:" (include "cairn.storeUrl" .) }}true{{ end -}}
{{- end -}}

{{- define "cairn.claimName" -}}
{{- default (printf "%s-data" (include "cairn.fullname" .)) .Values.persistence.existingClaim -}}
{{- end -}}

{{/* The lease name is fixed in the operator (src/operator.ts); the Role grants get/update on it alone. */}}
{{- define "cairn.leaseName" -}}cairn-operator{{- end -}}

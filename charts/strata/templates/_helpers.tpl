{{/* The name of every object: the release name, with "-strata" unless it already says so. */}}
{{- define "strata.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "strata.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "strata.labels" -}}
{{ include "strata.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "strata.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{- define "strata.tlsSecretName" -}}
{{- if eq .Values.certificates.mode "secret" -}}
{{- .Values.certificates.secret.name -}}
{{- else -}}
{{- printf "%s-tls" (include "strata.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/*
Namespaces strata never checks, as a JSON list: the release namespace (strata
must never gate its own pods), kube-system and exempt.namespaces.
*/}}
{{- define "strata.exemptNamespaces" -}}
{{- concat (list .Release.Namespace "kube-system") .Values.exempt.namespaces | uniq | toJson -}}
{{- end -}}

{{/*
The registry budget: registry.timeout, or one second less than the webhook's
timeout, so that strata answers with a decision (image-resolution) before the
API server gives up and applies the failurePolicy instead.
*/}}
{{- define "strata.registryTimeout" -}}
{{- $seconds := int .Values.webhook.timeoutSeconds -}}
{{- $budgetMs := mul $seconds 1000 -}}
{{- with .Values.registry.timeout -}}
{{- $ms := 0 -}}
{{- if hasSuffix "ms" . -}}
{{- $ms = trimSuffix "ms" . | atoi -}}
{{- else -}}
{{- $ms = mul (trimSuffix "s" . | atoi) 1000 -}}
{{- end -}}
{{- if ge (int64 $ms) (int64 $budgetMs) -}}
{{- fail (printf "registry.timeout %s must be below webhook.timeoutSeconds (%ds): strata must answer before the API server gives up" . $seconds) -}}
{{- end -}}
{{- . -}}
{{- else -}}
{{- printf "%ds" (sub $seconds 1) -}}
{{- end -}}
{{- end -}}

{{/*
The namespaces listed for one mode (argument: dict "root" $ "mode" "warn"), as a
JSON list: what `helm --set 'namespaces.warn={}'` gives ([""]), =null (null), =[]
("[]") and = ("") all mean none; the NOTES' audit → enforce commands use {}.
The schema allows no other string.
*/}}
{{- define "strata.namespacesOf" -}}
{{- $out := list -}}
{{- $listed := index (.root.Values.namespaces | default dict) .mode | default list -}}
{{- if kindIs "string" $listed }}{{ $listed = list }}{{ end -}}
{{- range $listed -}}
{{- if . }}{{ $out = append $out . }}{{ end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/*
Checks no schema can express: a namespace has one mode, and the namespaces
strata never checks cannot be given one.
*/}}
{{- define "strata.validate" -}}
{{- $seen := dict -}}
{{- range $mode := list "enforce" "warn" "audit" -}}
{{- range include "strata.namespacesOf" (dict "root" $ "mode" $mode) | fromJsonArray -}}
{{- if hasKey $seen . -}}
{{- fail (printf "namespace %q is listed under namespaces.%s and namespaces.%s: give it one mode" . (get $seen .) $mode) -}}
{{- end -}}
{{- if has . (include "strata.exemptNamespaces" $ | fromJsonArray) -}}
{{- fail (printf "namespace %q is listed under namespaces.%s, but strata never checks it (the release namespace, kube-system and exempt.namespaces)" . $mode) -}}
{{- end -}}
{{- $_ := set $seen . $mode -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The namespaceSelector of one mode's webhook entry (argument: dict "root" $ "mode" "enforce").
The default mode's entry takes every namespace not given to another mode;
another mode's entry takes the namespaces listed for it, or none at all
(kubernetes.io/metadata.name exists on every namespace, so DoesNotExist
matches nothing). Every entry excludes the namespaces strata never checks.
*/}}
{{- define "strata.namespaceSelector" -}}
{{- $root := .root -}}
{{- $exempt := include "strata.exemptNamespaces" $root | fromJsonArray -}}
matchExpressions:
{{- if eq .mode $root.Values.mode }}
{{- $others := list -}}
{{- range $m := list "enforce" "warn" "audit" -}}
{{- if ne $m $root.Values.mode -}}
{{- $others = concat $others (include "strata.namespacesOf" (dict "root" $root "mode" $m) | fromJsonArray) -}}
{{- end -}}
{{- end }}
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values: {{ concat $exempt $others | uniq | toJson }}
{{- else }}
{{- with include "strata.namespacesOf" (dict "root" $root "mode" .mode) | fromJsonArray }}
  - key: kubernetes.io/metadata.name
    operator: In
    values: {{ toJson . }}
{{- else }}
  - key: kubernetes.io/metadata.name
    operator: DoesNotExist
{{- end }}
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values: {{ toJson $exempt }}
{{- end }}
{{- end -}}

{{/*
The generated CA and serving certificate (certificates.mode generate), as JSON
{ca, crt, key} in base64. Generated once per render and shared by the Secret
and the webhook configuration through .Values; kept across upgrades by reading
the existing Secret (lookup), so the caBundle never changes under running pods.
*/}}
{{- define "strata.generatedCerts" -}}
{{- if not (hasKey .Values "__strataCerts") -}}
{{- $name := include "strata.tlsSecretName" . -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace $name -}}
{{- $certs := dict -}}
{{- if and $existing (hasKey (default dict $existing.data) "ca.crt") (hasKey $existing.data "tls.crt") (hasKey $existing.data "tls.key") -}}
{{- $certs = dict "ca" (index $existing.data "ca.crt") "crt" (index $existing.data "tls.crt") "key" (index $existing.data "tls.key") -}}
{{- else -}}
{{- $svc := include "strata.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- $days := int .Values.certificates.validityDays -}}
{{- $ca := genCA (printf "%s-ca" $svc) $days -}}
{{- $dns := list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) -}}
{{- $cert := genSignedCert (printf "%s.%s.svc" $svc $ns) nil $dns $days $ca -}}
{{- $certs = dict "ca" ($ca.Cert | b64enc) "crt" ($cert.Cert | b64enc) "key" ($cert.Key | b64enc) -}}
{{- end -}}
{{- $_ := set .Values "__strataCerts" $certs -}}
{{- end -}}
{{- get .Values "__strataCerts" | toJson -}}
{{- end -}}

{{/* The webhook configuration's caBundle, for the modes that know it at render time. */}}
{{- define "strata.caBundle" -}}
{{- if eq .Values.certificates.mode "generate" -}}
{{- (include "strata.generatedCerts" . | fromJson).ca -}}
{{- else if eq .Values.certificates.mode "secret" -}}
{{- .Values.certificates.secret.caBundle -}}
{{- end -}}
{{- end -}}

{{/*
The audit CronJob's name, and its ServiceAccount's and ClusterRole's: a
CronJob's name may have 52 characters (its Jobs' names add 11), so the
fullname is cut to leave room for "-audit".
*/}}
{{- define "strata.auditName" -}}
{{- printf "%s-audit" (include "strata.fullname" . | trunc 46 | trimSuffix "-") -}}
{{- end -}}

{{/*
The audit pods' labels. Their name is not the webhook's: the Service, the
PodDisruptionBudget, the NetworkPolicy and the Deployment select
strata.selectorLabels, and must never take an audit pod for a webhook pod.
*/}}
{{- define "strata.auditSelectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-audit" .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "strata.auditLabels" -}}
{{ include "strata.auditSelectorLabels" . }}
app.kubernetes.io/component: audit
app.kubernetes.io/part-of: {{ .Chart.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/*
imagePullSecrets of every strata pod (argument: the non-empty list): each a
name, or {name: ...} as in a pod spec.
*/}}
{{- define "strata.imagePullSecrets" -}}
imagePullSecrets:
  {{- range . }}
  {{- $name := . }}
  {{- if kindIs "map" . }}{{ $name = .name }}{{ end }}
  - name: {{ $name | quote }}
  {{- end }}
{{- end -}}

{{/*
The pod securityContext of every strata pod: a fixed non-root uid, and the
RuntimeDefault seccomp profile, as the restricted Pod Security profile asks.
*/}}
{{- define "strata.podSecurityContext" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{/*
The container securityContext of every strata container: non-root,
read-only, without capabilities or privilege escalation. strata's pods pass
strata's own run-as-root policy whatever the image's USER.
*/}}
{{- define "strata.containerSecurityContext" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  readOnlyRootFilesystem: true
  allowPrivilegeEscalation: false
  capabilities:
    drop: ["ALL"]
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{/*
A container's resources (argument: a resources value); an empty limit is
left out. Go's soft memory limit (strata.memoryLimitEnv) follows the memory limit.
*/}}
{{- define "strata.resources" -}}
resources:
  requests:
    {{- toYaml .requests | nindent 4 }}
  limits:
    {{- range $k, $v := .limits }}
    {{- if $v }}
    {{ $k }}: {{ $v | quote }}
    {{- end }}
    {{- end }}
{{- end -}}

{{/* The container's memory limit: strata sets Go's soft memory limit to 90 % of it, so that it collects before the kernel kills. */}}
{{- define "strata.memoryLimitEnv" -}}
- name: STRATA_MEMORY_LIMIT
  valueFrom:
    resourceFieldRef:
      resource: limits.memory
{{- end -}}

{{/*
The egress rules of a strata pod once networkPolicy.registryCIDRs restricts
it (argument: dict "np" .Values.networkPolicy "apiServer" bool, and
"notify" .Values.notify for the webhook's pods): DNS, the registries, when
the pod uses the API and apiServerCIDRs names it, the API server, and when
notify.url and notify.cidrs are set, the notification receiver.
*/}}
{{- define "strata.egress" -}}
{{- $np := .np -}}
egress:
  - ports:
      - port: 53
        protocol: UDP
      - port: 53
        protocol: TCP
  - to:
      {{- range $np.registryCIDRs }}
      - ipBlock:
          cidr: {{ . | quote }}
      {{- end }}
    ports:
      {{- range $np.registryPorts }}
      - port: {{ . }}
        protocol: TCP
      {{- end }}
  {{- if and .apiServer $np.apiServerCIDRs }}
  - to:
      {{- range $np.apiServerCIDRs }}
      - ipBlock:
          cidr: {{ . | quote }}
      {{- end }}
    ports:
      {{- range $np.apiServerPorts }}
      - port: {{ . }}
        protocol: TCP
      {{- end }}
  {{- end }}
  {{- with .notify }}
  {{- if and .url .cidrs }}
  - to:
      {{- range .cidrs }}
      - ipBlock:
          cidr: {{ . | quote }}
      {{- end }}
    ports:
      {{- range .ports }}
      - port: {{ . }}
        protocol: TCP
      {{- end }}
  {{- end }}
  {{- end }}
{{- end -}}

{{/*
strata's own registry access, shared by the webhook and the audit: the env
(DOCKER_CONFIG for registry.credentialsSecret, then extraEnv), the mounts
and the volumes of registry.credentialsSecret and registry.caBundle, then
extraVolumeMounts and extraVolumes.
*/}}
{{- define "strata.registryEnv" -}}
{{- if .Values.registry.credentialsSecret }}
- name: DOCKER_CONFIG
  value: /etc/strata/docker
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "strata.registryMounts" -}}
{{- if .Values.registry.credentialsSecret }}
- name: registry-credentials
  mountPath: /etc/strata/docker
  readOnly: true
{{- end }}
{{- if include "strata.caBundleSource" . }}
- name: registry-ca
  mountPath: /etc/strata/registry-ca
  readOnly: true
{{- end }}
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "strata.registryVolumes" -}}
{{- with .Values.registry.credentialsSecret }}
- name: registry-credentials
  secret:
    secretName: {{ . | quote }}
    items:
      - key: .dockerconfigjson
        path: config.json
{{- end }}
{{- with .Values.registry.caBundle }}
{{- if .configMap }}
- name: registry-ca
  configMap:
    name: {{ .configMap | quote }}
    items:
      - key: {{ .key | quote }}
        path: ca.crt
{{- else if .secret }}
- name: registry-ca
  secret:
    secretName: {{ .secret | quote }}
    items:
      - key: {{ .key | quote }}
        path: ca.crt
{{- end }}
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
"1" when registry.caBundle names a ConfigMap or a Secret, else "".
*/}}
{{- define "strata.caBundleSource" -}}
{{- with .Values.registry.caBundle }}{{ if or .configMap .secret }}1{{ end }}{{ end -}}
{{- end -}}

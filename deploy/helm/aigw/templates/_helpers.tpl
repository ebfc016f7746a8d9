{{/*
Names. They depend only on .Values and .Release (never .Chart), so a
workload's chart that includes "aigw.sidecar.container" with
(dict "Values" .Values.aigw "Release" .Release) gets the same ConfigMap name
as the aigw subchart renders.
*/}}
{{- define "aigw.name" -}}
{{- default "aigw" .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "aigw.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "aigw.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "aigw.configMapName" -}}
{{- printf "%s-config" (include "aigw.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "aigw.selectorLabels" -}}
app.kubernetes.io/name: {{ include "aigw.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "aigw.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "aigw.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: {{ ternary "ai-gateway-sidecar" "ai-gateway" (eq (include "aigw.mode" .) "sidecar") }}
{{- end -}}

{{- define "aigw.mode" -}}
{{- $mode := default "standalone" .Values.mode -}}
{{- if not (has $mode (list "standalone" "sidecar")) -}}
{{- fail (printf "aigw: mode must be standalone or sidecar, not %q" $mode) -}}
{{- end -}}
{{- $mode -}}
{{- end -}}

{{- define "aigw.sidecarMode" -}}
{{- if eq (include "aigw.mode" .) "sidecar" }}true{{ end -}}
{{- end -}}

{{/* Whether this release renders a Deployment (and its Service, HPA, PDB, ...). */}}
{{- define "aigw.hasWorkload" -}}
{{- if or (not (include "aigw.sidecarMode" .)) .Values.sidecar.workload.enabled }}true{{ end -}}
{{- end -}}

{{/*
config.shutdown.grace in whole seconds (rounded up). Accepts what aigw
accepts: "30s", "500ms", "1m30s", "1.5m", "0".
*/}}
{{- define "aigw.graceSeconds" -}}
{{- $grace := "30s" -}}
{{- with (include "aigw.sourceConfig" . | fromJson) -}}{{- with .shutdown -}}{{- if hasKey . "grace" -}}{{- $grace = toString .grace -}}{{- end -}}{{- end -}}{{- end -}}
{{- if eq $grace "0" -}}
0
{{- else -}}
{{- if not (regexMatch "^([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h))+$" $grace) -}}
{{- fail (printf "aigw: config.shutdown.grace %q is not a duration such as 30s or 1m30s" $grace) -}}
{{- end -}}
{{- $scale := dict "ns" 0.000000001 "us" 0.000001 "ms" 0.001 "s" 1.0 "m" 60.0 "h" 3600.0 -}}
{{- $total := 0.0 -}}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h)" $grace -1 -}}
{{- $number := regexFind "^[0-9]+(\\.[0-9]+)?" . -}}
{{- $unit := trimPrefix $number . -}}
{{- $total = addf $total (mulf (float64 $number) (get $scale $unit)) -}}
{{- end -}}
{{- ceil $total | int -}}
{{- end -}}
{{- end -}}

{{/*
terminationGracePeriodSeconds: grace + preStop sleep + slack, or the value
given (refused when it would not cover grace + preStop).
*/}}
{{- define "aigw.terminationGracePeriodSeconds" -}}
{{- $grace := include "aigw.graceSeconds" . | int -}}
{{- $preStop := .Values.lifecycle.preStopSleepSeconds | default 0 | int -}}
{{- $needed := add $grace $preStop -}}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds -}}
{{- add $needed (.Values.lifecycle.terminationSlackSeconds | default 0 | int) -}}
{{- else -}}
{{- $given := .Values.terminationGracePeriodSeconds | int -}}
{{- if lt $given $needed -}}
{{- fail (printf "aigw: terminationGracePeriodSeconds %d is below config.shutdown.grace + lifecycle.preStopSleepSeconds = %d: streams would be cut by SIGKILL" $given $needed) -}}
{{- end -}}
{{- $given -}}
{{- end -}}
{{- end -}}

{{/*
Refuses a literal secret in the config: provider keys must be "${VAR}"
references (filled from `secrets`), consumer keys "${VAR}" or "sha256:<hex>",
admin.token and redis.password "${VAR}" / "${VAR:-}".
*/}}
{{- define "aigw.checkNoInlineSecrets" -}}
{{- $ref := "^\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}$" -}}
{{- $refOrEmpty := "^\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-)?\\}$" -}}
{{- range $i, $p := (.providers | default list) -}}
{{- range $j, $key := ($p.api_keys | default list) -}}
{{- if not (regexMatch $ref (toString $key)) -}}
{{- fail (printf "aigw: config.providers[%d].api_keys[%d] must be a ${VAR} reference filled from a Secret (secrets.existingSecret), never the key itself: the config is a ConfigMap" $i $j) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $i, $c := (.consumers | default list) -}}
{{- range $j, $key := ($c.api_keys | default list) -}}
{{- if not (or (regexMatch $ref (toString $key)) (regexMatch "^sha256:[0-9a-fA-F]{64}$" (toString $key))) -}}
{{- fail (printf "aigw: config.consumers[%d].api_keys[%d] must be a ${VAR} reference or sha256:<hex of the key>, never the key itself" $i $j) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- with .admin -}}{{- if hasKey . "token" -}}{{- if not (regexMatch $refOrEmpty (toString .token)) -}}
{{- fail "aigw: config.admin.token must be a ${VAR} reference filled from a Secret" -}}
{{- end -}}{{- end -}}{{- end -}}
{{- with .redis -}}{{- if hasKey . "password" -}}{{- if not (regexMatch $refOrEmpty (toString .password)) -}}
{{- fail "aigw: config.redis.password must be a ${VAR} reference filled from a Secret" -}}
{{- end -}}{{- end -}}{{- end -}}
{{- end -}}

{{/*
The user's config as JSON: configYaml (a YAML string, kept verbatim) when
set, else .Values.config.
*/}}
{{- define "aigw.sourceConfig" -}}
{{- if .Values.configYaml -}}
{{- $parsed := fromYaml .Values.configYaml -}}
{{- if hasKey $parsed "Error" -}}
{{- fail (printf "aigw: configYaml is not YAML: %s" $parsed.Error) -}}
{{- end -}}
{{- toJson $parsed -}}
{{- else -}}
{{- toJson (.Values.config | default dict) -}}
{{- end -}}
{{- end -}}

{{/*
The aigw.yaml of the ConfigMap: the user's config plus the listen addresses
of the mode (and shutdown.grace when absent). .Values.config is rendered with
toYaml, which sorts map keys; configYaml is copied as written, for configs
whose key order matters (several regex keys in one model_mapping).
*/}}
{{- define "aigw.config" -}}
{{- $config := include "aigw.sourceConfig" . | fromJson -}}
{{- if hasKey $config "listen" -}}
{{- fail "aigw: do not set listen in config/configYaml; the chart derives it from mode, ports, bindAddress and loopbackAddress" -}}
{{- end -}}
{{- include "aigw.checkNoInlineSecrets" $config -}}
{{- $front := ternary .Values.loopbackAddress .Values.bindAddress (eq (include "aigw.mode" .) "sidecar") -}}
{{- $listen := dict "http" (printf "%s:%v" $front .Values.ports.http) "grpc" (printf "%s:%v" $front .Values.ports.grpc) "admin" (printf "%s:%v" .Values.bindAddress .Values.ports.admin) -}}
{{- if .Values.configYaml -}}
{{- .Values.configYaml | trimSuffix "\n" }}
{{ dict "listen" $listen | toYaml }}
{{- if not (hasKey $config "shutdown") }}
shutdown:
  grace: 30s
{{- end -}}
{{- else -}}
{{- $_ := set $config "listen" $listen -}}
{{- $shutdown := $config.shutdown | default dict -}}
{{- $_ := set $shutdown "grace" (toString (default "30s" $shutdown.grace)) -}}
{{- $_ := set $config "shutdown" $shutdown -}}
{{- toYaml $config -}}
{{- end -}}
{{- end -}}

{{/* Pod annotations: Prometheus scrape hints, the opt-in config checksum, the user's. */}}
{{- define "aigw.podAnnotations" -}}
{{- if .Values.metrics.podAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .Values.ports.admin | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- if .Values.restartOnConfigChange }}
checksum/config: {{ include "aigw.config" . | sha256sum }}
{{- end }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
The aigw container, one YAML list item. Used by this chart's Deployment and,
through "aigw.sidecar.container", by a workload's chart.
*/}}
{{- define "aigw.container" -}}
{{- $sidecar := include "aigw.sidecarMode" . -}}
{{- $prefix := ternary "aigw-" "" (not (empty $sidecar)) -}}
- name: aigw
  image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default "latest" }}"
  imagePullPolicy: {{ .Values.image.pullPolicy | default "IfNotPresent" }}
  {{- if and $sidecar .Values.sidecar.native }}
  # A native sidecar (under initContainers): started before and stopped after the app.
  restartPolicy: Always
  {{- end }}
  command: ["/usr/local/bin/aigw"]
  args:
    - --config=/etc/aigw/aigw.yaml
    {{- range .Values.extraArgs }}
    - {{ . | quote }}
    {{- end }}
  ports:
    {{- if not $sidecar }}
    - name: http
      containerPort: {{ .Values.ports.http }}
      protocol: TCP
    - name: grpc
      containerPort: {{ .Values.ports.grpc }}
      protocol: TCP
    {{- end }}
    - name: {{ $prefix }}admin
      containerPort: {{ .Values.ports.admin }}
      protocol: TCP
  {{- if and .Values.secrets.existingSecret .Values.secrets.envFrom }}
  envFrom:
    - secretRef:
        name: {{ .Values.secrets.existingSecret }}
  {{- end }}
  {{- if or .Values.secrets.env .Values.extraEnv }}
  env:
    {{- range .Values.secrets.env }}
    - name: {{ required "aigw: secrets.env[].name is required" .name }}
      valueFrom:
        secretKeyRef:
          name: {{ required "aigw: secrets.env[] needs secret or secrets.existingSecret" (default $.Values.secrets.existingSecret .secret) }}
          key: {{ required "aigw: secrets.env[].key is required" .key }}
          {{- if hasKey . "optional" }}
          optional: {{ .optional }}
          {{- end }}
    {{- end }}
    {{- with .Values.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
  volumeMounts:
    # The whole directory, never subPath: the kubelet swaps the ConfigMap's
    # ..data symlink on a change and aigw reloads the file in place.
    - name: aigw-config
      mountPath: /etc/aigw
      readOnly: true
    - name: aigw-tmp
      mountPath: /tmp
  startupProbe:
    httpGet:
      path: /healthz
      port: {{ .Values.ports.admin }}
    periodSeconds: {{ .Values.probes.startup.periodSeconds }}
    failureThreshold: {{ .Values.probes.startup.failureThreshold }}
    timeoutSeconds: {{ .Values.probes.startup.timeoutSeconds }}
  livenessProbe:
    httpGet:
      path: /healthz
      port: {{ .Values.ports.admin }}
    periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
    failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
    timeoutSeconds: {{ .Values.probes.liveness.timeoutSeconds }}
  readinessProbe:
    httpGet:
      path: /readyz
      port: {{ .Values.ports.admin }}
    periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
    failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
    timeoutSeconds: {{ .Values.probes.readiness.timeoutSeconds }}
  {{- if gt (.Values.lifecycle.preStopSleepSeconds | default 0 | int) 0 }}
  lifecycle:
    preStop:
      exec:
        command: ["/bin/sleep", "{{ .Values.lifecycle.preStopSleepSeconds | int }}"]
  {{- end }}
  {{- with .Values.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.securityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* The aigw container's volumes, YAML list items. */}}
{{- define "aigw.volumes" -}}
- name: aigw-config
  configMap:
    name: {{ include "aigw.configMapName" . }}
- name: aigw-tmp
  emptyDir:
    {{- with .Values.tmpVolume.sizeLimit }}
    sizeLimit: {{ . }}
    {{- end }}
{{- end -}}

{{/*
For a workload's chart (with this chart as the dependency "aigw" and
aigw.mode: sidecar):
  initContainers:   # sidecar.native: true (the default); else under containers:
    {{- include "aigw.sidecar.container" (dict "Values" .Values.aigw "Release" .Release) | nindent 8 }}
  volumes:
    {{- include "aigw.sidecar.volumes" (dict "Values" .Values.aigw "Release" .Release) | nindent 8 }}
  terminationGracePeriodSeconds: {{ include "aigw.terminationGracePeriodSeconds" (dict "Values" .Values.aigw "Release" .Release) }}
*/}}
{{- define "aigw.sidecar.container" -}}
{{- if not (include "aigw.sidecarMode" .) -}}
{{- fail "aigw: the sidecar container needs mode: sidecar in aigw's values (so its ConfigMap binds REST and gRPC to the loopback)" -}}
{{- end -}}
{{- include "aigw.container" . -}}
{{- end -}}

{{- define "aigw.sidecar.volumes" -}}
{{- include "aigw.volumes" . -}}
{{- end -}}

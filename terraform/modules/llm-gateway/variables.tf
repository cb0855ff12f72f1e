variable "name" {
  description = "Helm release name; also prefixes the Kubernetes objects."
  type        = string
  default     = "llm-gateway"
}

variable "namespace" {
  description = "Namespace to deploy into."
  type        = string
  default     = "llm-gateway"
}

variable "create_namespace" {
  description = "Create the namespace (false when it is managed elsewhere)."
  type        = bool
  default     = true
}

variable "chart_path" {
  description = "Path of the llm-gateway Helm chart (or a chart repository reference)."
  type        = string
  default     = null
}

variable "image_repository" {
  description = "Container image built from the repository's Dockerfile."
  type        = string
}

variable "image_tag" {
  description = "Image tag; pin one per environment."
  type        = string
}

variable "database_url" {
  description = "PostgreSQL 15+ URL (postgres://user:password@host:5432/db?sslmode=require). Usually a managed database."
  type        = string
  sensitive   = true
}

variable "redis_url" {
  description = "Redis 7 URL (redis:// or rediss://). Redis holds no source of truth."
  type        = string
  sensitive   = true
}

variable "redis_cache_url" {
  description = "Optional separate Redis for the response cache (allkeys-lru); empty uses REDIS_CACHE_DB on redis_url."
  type        = string
  sensitive   = true
  default     = ""
}

variable "admin_api_key" {
  description = "Bootstrap admin key (>= 32 characters). Empty: a random 48-character key is generated and kept in state."
  type        = string
  sensitive   = true
  default     = ""

  validation {
    condition     = var.admin_api_key == "" || length(var.admin_api_key) >= 32
    error_message = "admin_api_key must be at least 32 characters (or empty to generate one)."
  }
}

variable "provider_api_keys" {
  description = "Provider credentials by environment variable name, e.g. { OPENAI_API_KEY = \"sk-…\", ANTHROPIC_API_KEY = \"sk-ant-…\" }."
  type        = map(string)
  sensitive   = true
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.provider_api_keys) : can(regex("^[A-Z][A-Z0-9_]*$", k))])
    error_message = "provider_api_keys keys must be environment variable names (e.g. OPENAI_API_KEY)."
  }
}

variable "catalog_yaml" {
  description = "The catalog (docs/api.md §6) as YAML text; empty uses the catalog shipped in the image."
  type        = string
  default     = ""
}

variable "env" {
  description = "Extra plain environment variables (docs/configuration.md), merged over the chart's defaults."
  type        = map(string)
  default     = {}
}

variable "replicas" {
  description = "Replica count when autoscaling is off; the HPA minimum when it is on."
  type        = number
  default     = 2
}

variable "autoscaling_max_replicas" {
  description = "HPA maximum; 0 turns autoscaling off."
  type        = number
  default     = 10
}

variable "shutdown" {
  description = "SIGTERM timings: preStop sleep (s), drain delay and grace (ms). The chart derives terminationGracePeriodSeconds."
  type = object({
    pre_stop_sleep_seconds = number
    drain_delay_ms         = number
    grace_ms               = number
  })
  default = {
    pre_stop_sleep_seconds = 5
    drain_delay_ms         = 2000
    grace_ms               = 25000
  }
}

variable "service_monitor" {
  description = "Create a Prometheus Operator ServiceMonitor (needs its CRDs)."
  type        = bool
  default     = false
}

variable "service_monitor_labels" {
  description = "Labels your Prometheus selects ServiceMonitors by (e.g. { release = \"kube-prometheus-stack\" })."
  type        = map(string)
  default     = {}
}

variable "resources" {
  description = "Container resources."
  type        = any
  default = {
    requests = { cpu = "250m", memory = "256Mi" }
    limits   = { memory = "512Mi" }
  }
}

variable "extra_values" {
  description = "Further chart values (YAML text), applied last."
  type        = string
  default     = ""
}

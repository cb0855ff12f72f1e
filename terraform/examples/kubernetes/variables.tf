variable "kubeconfig_path" {
  description = "kubeconfig used by the kubernetes and helm providers."
  type        = string
  default     = "~/.kube/config"
}

variable "kube_context" {
  description = "kubeconfig context; null uses the current one."
  type        = string
  default     = null
}

variable "namespace" {
  type    = string
  default = "llm-gateway"
}

variable "image_repository" {
  type = string
}

variable "image_tag" {
  type = string
}

variable "database_url" {
  type      = string
  sensitive = true
}

variable "redis_url" {
  type      = string
  sensitive = true
}

variable "openai_api_key" {
  type      = string
  sensitive = true
  default   = ""
}

variable "anthropic_api_key" {
  type      = string
  sensitive = true
  default   = ""
}

variable "service_monitor" {
  type    = bool
  default = false
}

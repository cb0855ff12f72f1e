output "namespace" {
  description = "Namespace of the release."
  value       = var.namespace
}

output "service_name" {
  description = "ClusterIP Service in front of the gateway (port 80 → 8080)."
  value       = var.name
}

output "service_url" {
  description = "In-cluster base URL."
  value       = "http://${var.name}.${var.namespace}.svc.cluster.local"
}

output "secret_name" {
  description = "Secret holding ADMIN_API_KEY, DATABASE_URL, REDIS_URL and provider keys."
  value       = kubernetes_secret.gateway.metadata[0].name
}

output "admin_api_key" {
  description = "The bootstrap admin key (given or generated)."
  value       = local.admin_api_key
  sensitive   = true
}

output "release_revision" {
  description = "Helm release revision."
  value       = helm_release.gateway.metadata[0].revision
}

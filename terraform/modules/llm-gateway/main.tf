locals {
  chart_path  = coalesce(var.chart_path, "${path.module}/../../../helm/llm-gateway")
  secret_name = "${var.name}-secrets"
  autoscaling = var.autoscaling_max_replicas > 0

  secret_data = merge(
    var.provider_api_keys,
    {
      ADMIN_API_KEY = local.admin_api_key
      DATABASE_URL  = var.database_url
      REDIS_URL     = var.redis_url
    },
    var.redis_cache_url == "" ? {} : { REDIS_CACHE_URL = var.redis_cache_url },
  )
}

resource "kubernetes_namespace" "this" {
  count = var.create_namespace ? 1 : 0

  metadata {
    name = var.namespace
    labels = {
      "app.kubernetes.io/part-of" = "llm-gateway"
    }
  }
}

resource "random_password" "admin_api_key" {
  count   = var.admin_api_key == "" ? 1 : 0
  length  = 48
  special = false
}

locals {
  admin_api_key = var.admin_api_key != "" ? var.admin_api_key : random_password.admin_api_key[0].result
}

# Created before the release, so the chart's pre-install migration Job can read DATABASE_URL.
resource "kubernetes_secret" "gateway" {
  metadata {
    name      = local.secret_name
    namespace = var.namespace
    labels = {
      "app.kubernetes.io/part-of"    = "llm-gateway"
      "app.kubernetes.io/managed-by" = "terraform"
    }
  }

  type = "Opaque"
  data = local.secret_data

  depends_on = [kubernetes_namespace.this]
}

resource "helm_release" "gateway" {
  name      = var.name
  namespace = var.namespace
  chart     = local.chart_path

  # Wait for readiness, so a failed migration or a bad catalog fails the apply.
  wait          = true
  wait_for_jobs = true
  timeout       = 600
  atomic        = true

  values = compact([
    yamlencode({
      fullnameOverride = var.name
      replicaCount     = var.replicas
      image = {
        repository = var.image_repository
        tag        = var.image_tag
      }
      env = var.env
      secret = {
        existingSecret = kubernetes_secret.gateway.metadata[0].name
        create         = false
      }
      catalog = {
        content = var.catalog_yaml
      }
      shutdown = {
        preStopSleepSeconds = var.shutdown.pre_stop_sleep_seconds
        drainDelayMs        = var.shutdown.drain_delay_ms
        graceMs             = var.shutdown.grace_ms
      }
      autoscaling = {
        enabled     = local.autoscaling
        minReplicas = var.replicas
        maxReplicas = local.autoscaling ? var.autoscaling_max_replicas : var.replicas
      }
      metrics = {
        serviceMonitor = {
          enabled = var.service_monitor
          labels  = var.service_monitor_labels
        }
      }
      resources = var.resources
    }),
    var.extra_values,
  ])

  # Roll the pods when a secret value changes (the chart cannot see an external Secret's content).
  set {
    name  = "podAnnotations.checksum/secret"
    value = sha256(jsonencode(local.secret_data))
  }

  depends_on = [kubernetes_namespace.this]
}

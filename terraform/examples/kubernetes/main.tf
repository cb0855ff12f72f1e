# Example root module: the gateway on an existing cluster, talking to managed Postgres and Redis.
#   cp terraform.tfvars.example terraform.tfvars   # then edit
#   terraform init && terraform apply
#   terraform output -raw admin_api_key

provider "kubernetes" {
  config_path    = var.kubeconfig_path
  config_context = var.kube_context
}

provider "helm" {
  kubernetes {
    config_path    = var.kubeconfig_path
    config_context = var.kube_context
  }
}

module "llm_gateway" {
  source = "../../modules/llm-gateway"

  name             = "llm-gateway"
  namespace        = var.namespace
  image_repository = var.image_repository
  image_tag        = var.image_tag

  database_url = var.database_url
  redis_url    = var.redis_url

  provider_api_keys = {
    OPENAI_API_KEY    = var.openai_api_key
    ANTHROPIC_API_KEY = var.anthropic_api_key
  }

  # The repository's catalog; edit prices there (or point at your own file).
  catalog_yaml = file("${path.module}/../../../config/gateway.yaml")

  env = {
    LOG_LEVEL = "info"
  }

  replicas                 = 2
  autoscaling_max_replicas = 10
  service_monitor          = var.service_monitor
}

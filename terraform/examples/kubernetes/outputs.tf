output "service_url" {
  value = module.llm_gateway.service_url
}

output "admin_api_key" {
  value     = module.llm_gateway.admin_api_key
  sensitive = true
}

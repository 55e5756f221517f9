output "address" {
  description = "The UI's LoadBalancer address: the one asked for, else the one MetalLB assigned (null until it did)."
  value       = var.address != null ? var.address : try(kubernetes_service_v1.ui.status[0].load_balancer[0].ingress[0].ip, null)
}

output "url" {
  description = "The UI's URL: http://<address>/ for Headlamp, https://<address>/ for the Dashboard (self-signed certificate). Null while no address is known."
  value       = var.address != null ? "${local.target.scheme}://${var.address}/" : try("${local.target.scheme}://${kubernetes_service_v1.ui.status[0].load_balancer[0].ingress[0].ip}/", null)
}

output "service_name" {
  description = "Name of the LoadBalancer Service."
  value       = kubernetes_service_v1.ui.metadata[0].name
}

output "namespace" {
  description = "Namespace of the Service and the login ServiceAccount."
  value       = local.namespace
}

output "admin_service_account" {
  description = "The ServiceAccount to log in with."
  value       = kubernetes_service_account_v1.admin.metadata[0].name
}

output "login_command" {
  description = "Prints a short-lived login token (TokenRequest API; nothing is stored)."
  value       = "kubectl -n ${local.namespace} create token ${kubernetes_service_account_v1.admin.metadata[0].name}"
}

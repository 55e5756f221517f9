output "pool_name" {
  description = "Name of the IPAddressPool (for a Service's metallb.io/address-pool annotation)."
  value       = kubernetes_manifest.ip_address_pool.manifest.metadata.name
}

output "l2_advertisement_name" {
  description = "Name of the L2Advertisement announcing the pool."
  value       = kubernetes_manifest.l2_advertisement.manifest.metadata.name
}

output "addresses" {
  description = "The pool's addresses, as given."
  value       = var.addresses
}

output "first_address" {
  description = "The first address of the first range or CIDR: the one kubelab pins its UI Service to (pass it to the ui module's address)."
  value       = local.first_address
}

output "namespace" {
  description = "Namespace of both objects."
  value       = var.namespace
}

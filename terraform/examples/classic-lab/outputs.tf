output "kubeconfig_path" {
  description = "The lab's kubeconfig (admin credentials): KUBECONFIG=<this> kubectl get nodes."
  value       = module.cluster.kubeconfig_path
}

output "kube_context" {
  description = "The kubeconfig context, kubelab-classic-lab."
  value       = module.cluster.kube_context
}

output "api_endpoint" {
  description = "The API server's URL (null without kubelab-plan.json)."
  value       = module.cluster.api_endpoint
}

output "node_addresses" {
  description = "Each node's lab address (null without kubelab-plan.json)."
  value       = module.cluster.node_addresses
}

output "lb_pools" {
  description = "MetalLB pools (null without kubelab-plan.json, unless Terraform manages them)."
  value       = length(module.metallb) > 0 ? module.metallb[0].addresses : module.cluster.lb_pools
}

output "ui_url" {
  description = "The web UI (null without kubelab-plan.json, unless Terraform manages the UI's Service). A login token: kubelab ui -f kubelab.yaml, or the ui_login output's command."
  value       = length(module.ui) > 0 ? module.ui[0].url : module.cluster.ui_url
}

output "ui_login" {
  description = "Prints a short-lived UI login token."
  value       = length(module.ui) > 0 ? module.ui[0].login_command : "${var.kubelab_command} ui -f ${module.cluster.cluster_file}"
}

output "linkerd_trust_anchor_pem" {
  description = "Linkerd's trust anchor certificate, when Terraform manages Linkerd (else kubelab keeps it in Secret kube-system/kubelab-linkerd-identity)."
  value       = length(module.linkerd) > 0 ? module.linkerd[0].trust_anchor_pem : null
}

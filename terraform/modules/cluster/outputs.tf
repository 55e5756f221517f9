output "name" {
  description = "The cluster's name (metadata.name)."
  value       = local.name
}

output "cluster_file" {
  description = "Absolute path of the cluster file kubelab runs with (the given one, or the one the module writes under .kubelab-tf/)."
  value       = local.cluster_file_path
}

output "cluster_dir" {
  description = "kubelab's cluster directory, .kubelab/<name>/ next to the cluster file: SSH key, known_hosts, kubeconfig, logs."
  value       = local.cluster_dir
}

output "kubeconfig_path" {
  description = "The cluster's own kubeconfig (.kubelab/<name>/kubeconfig, mode 0600, admin credentials). Known once the first `kubelab up` has finished, so a kubernetes or helm provider configured from it waits for the cluster."
  value       = terraform_data.kubeconfig.output.path
}

output "kube_context" {
  description = "The kubeconfig context: kubelab-<name> (in kubeconfig_path, and merged into ~/.kube/config unless merge_kubeconfig is false). Known once the first `kubelab up` has finished."
  value       = terraform_data.kubeconfig.output.context
}

output "api_endpoint" {
  description = "The API server's URL, https://<controlPlaneEndpoint> (from plan_json; null without it)."
  value       = local.plan == null ? null : "https://${local.plan.kubernetes.controlPlaneEndpoint}"
}

output "control_plane_endpoint" {
  description = "host:port of the API server on the lab network (from plan_json; null without it)."
  value       = try(local.plan.kubernetes.controlPlaneEndpoint, null)
}

output "nodes" {
  description = "Nodes by name: role, lab address (ip), cpus and memory_mib (from plan_json; null without it)."
  value = local.plan == null ? null : {
    for n in local.plan.nodes : n.name => {
      role       = n.role
      ip         = n.ip
      cpus       = n.cpus
      memory_mib = n.memoryMiB
    }
  }
}

output "node_names" {
  description = "Node names in the plan's order: control planes and workers as the file lists them (from plan_json; null without it)."
  value       = local.plan == null ? null : [for n in local.plan.nodes : n.name]
}

output "node_addresses" {
  description = "Each node's lab address (kubelet node-ip), by node name (from plan_json; null without it)."
  value       = local.plan == null ? null : { for n in local.plan.nodes : n.name => n.ip }
}

output "lab_network" {
  description = "The lab network: cidr and gateway (this host's address on it) (from plan_json; null without it)."
  value = local.plan == null ? null : {
    cidr    = local.plan.network.cidr
    gateway = local.plan.network.gateway
  }
}

output "kubernetes_version" {
  description = "The pinned Kubernetes release, such as v1.37.2 (from plan_json; null without it)."
  value       = try(local.plan.kubernetes.version, null)
}

output "metallb_enabled" {
  description = "Whether kubelab installs MetalLB (and owns its IPAddressPool and L2Advertisement kubelab-<name>) (from plan_json; null without it)."
  value       = local.metallb_enabled
}

output "lb_pools" {
  description = "MetalLB address pools (ranges or CIDRs) for LoadBalancer Services; [] when MetalLB is disabled (from plan_json; null without it)."
  value       = local.lb_pools
}

output "first_pool_address" {
  description = "The first address of the first MetalLB pool (a range's first address, or a CIDR's own first address), the one kubelab pins its UI to. Null without MetalLB or without plan_json."
  value       = local.first_pool_address
}

output "ui_kind" {
  description = "The web UI kubelab installs: headlamp, dashboard or none (from plan_json; null without it)."
  value       = local.ui_kind
}

output "ui_address" {
  description = "The address kubelab pins the UI Service kubelab-ui to: the first address of the first MetalLB pool. Null without MetalLB or without plan_json."
  value       = local.ui_address
}

output "ui_url" {
  description = "The web UI's URL: http://<ui_address>/ for Headlamp, https://<ui_address>/ for the Dashboard (self-signed). Null with ui none, without MetalLB or without plan_json. `kubelab ui` prints it with a login token."
  value       = local.ui_url
}

output "linkerd_enabled" {
  description = "Whether kubelab installs Linkerd (from plan_json; null without it). Use the linkerd module only on a cluster where this is false."
  value       = try(local.plan.addons.linkerd.enabled, null)
}

output "plan" {
  description = "The whole decoded plan_json (null without it)."
  value       = local.plan
}

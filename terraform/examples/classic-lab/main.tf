# The classic lab (master-1 + worker-1..2 on 192.168.56.0/24, MetalLB pool .46-.56, Headlamp,
# Linkerd) composed from the kubelab modules. See README.md.

locals {
  cluster_file = var.manage_addons_in_terraform ? "kubelab-terraform-addons.yaml" : "kubelab.yaml"
  # `kubelab plan -f kubelab.yaml -o json > kubelab-plan.json` (optional: node addresses, API
  # endpoint, pools and UI URL come from it).
  plan_file = "${path.module}/${trimsuffix(local.cluster_file, ".yaml")}-plan.json"

  # What kubelab installs itself, read from the file (known without a plan): an addon kubelab
  # installs is one Terraform must not manage too (both would own the same objects).
  document        = yamldecode(file("${path.module}/${local.cluster_file}"))
  kubelab_metallb = try(local.document.addons.metallb.enabled, true)
  kubelab_ui      = try(local.document.addons.ui, "headlamp")
  kubelab_linkerd = try(local.document.addons.linkerd.enabled, true)
}

module "cluster" {
  source = "../../modules/cluster"

  cluster_file     = "${path.module}/${local.cluster_file}"
  plan_json        = fileexists(local.plan_file) ? file(local.plan_file) : null
  kubelab_command  = var.kubelab_command
  bundle           = var.bundle
  merge_kubeconfig = var.merge_kubeconfig
}

# Configured from the cluster's own kubeconfig: these outputs are known once `kubelab up` has
# finished, so nothing below talks to the cluster before it is Ready.
provider "kubernetes" {
  config_path    = module.cluster.kubeconfig_path
  config_context = module.cluster.kube_context
}

provider "helm" {
  kubernetes = {
    config_path    = module.cluster.kubeconfig_path
    config_context = module.cluster.kube_context
  }
}

# MetalLB's pool and L2Advertisement, when the cluster file leaves them to Terraform
# (addons.metallb.enabled: false, MetalLB itself installed by you). kubernetes_manifest reads
# MetalLB's CRDs at plan time: MetalLB must be installed before this is planned.
module "metallb" {
  source = "../../modules/metallb"
  count  = var.manage_addons_in_terraform && !local.kubelab_metallb ? 1 : 0

  name      = "classic-lab"
  addresses = var.lb_pools

  depends_on = [module.cluster]
}

# The UI's LoadBalancer Service and login account, when the cluster file leaves them to
# Terraform (addons.ui: none, the UI itself installed by you). Pinned to the pool's first
# address, as kubelab does.
module "ui" {
  source = "../../modules/ui"
  count  = var.manage_addons_in_terraform && local.kubelab_ui == "none" ? 1 : 0

  kind    = var.ui_kind
  address = length(module.metallb) > 0 ? module.metallb[0].first_address : module.cluster.first_pool_address

  depends_on = [module.cluster, module.metallb]
}

# Linkerd, when the cluster file leaves it to Terraform (addons.linkerd.enabled: false, as in
# kubelab-terraform-addons.yaml). kubelab installs the Gateway API CRDs only with its own
# Linkerd, so here the linkerd-crds chart installs its copy.
module "linkerd" {
  source = "../../modules/linkerd"
  count  = var.manage_addons_in_terraform && !local.kubelab_linkerd ? 1 : 0

  install_gateway_api = true

  depends_on = [module.cluster]
}

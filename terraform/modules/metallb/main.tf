# MetalLB L2 configuration: one IPAddressPool and one L2Advertisement that names it, as kubelab
# renders them (src/render/metallb.ts). Both objects, always together: a pool without an
# advertisement allocates addresses that nothing announces (ARP never answers), and an
# advertisement without ipAddressPools announces every pool in the cluster.
#
# kubernetes_manifest needs the API server and MetalLB's CRDs (metallb.io/v1beta1) at plan time:
# install MetalLB before planning this module.

locals {
  api_version = "metallb.io/v1beta1"

  # The first address of the first pool: what a Service that wants a fixed address (such as the
  # ui module's) can ask for. A range's first address, or a CIDR's own first address.
  first_address = strcontains(var.addresses[0], "/") ? cidrhost(var.addresses[0], 0) : trimspace(split("-", var.addresses[0])[0])
}

resource "kubernetes_manifest" "ip_address_pool" {
  manifest = {
    apiVersion = local.api_version
    kind       = "IPAddressPool"
    metadata = {
      name      = var.name
      namespace = var.namespace
      labels    = var.labels
    }
    spec = {
      addresses     = var.addresses
      autoAssign    = var.auto_assign
      avoidBuggyIPs = var.avoid_buggy_ips
    }
  }
}

resource "kubernetes_manifest" "l2_advertisement" {
  manifest = {
    apiVersion = local.api_version
    kind       = "L2Advertisement"
    metadata = {
      name      = var.name
      namespace = var.namespace
      labels    = var.labels
    }
    spec = merge(
      { ipAddressPools = [kubernetes_manifest.ip_address_pool.manifest.metadata.name] },
      length(var.interfaces) > 0 ? { interfaces = var.interfaces } : {},
    )
  }
}

# Exposes a web UI that runs in the cluster (Headlamp, or the Kubernetes Dashboard) as kubelab
# does (src/render/ui.ts): a LoadBalancer Service and a login ServiceAccount bound to a
# ClusterRole. No long-lived token Secret: get a short-lived login token with
#   kubectl -n <namespace> create token <admin_name>
# (the login_command output), or `kubelab ui` on a kubelab cluster.

locals {
  # Where each UI runs and how to reach its pods, from the pinned upstream manifests
  # (headlamp v0.45.0 kubernetes-headlamp.yaml, dashboard v2.7.0 aio/deploy/recommended.yaml).
  targets = {
    headlamp = {
      namespace   = "kube-system"
      selector    = { "k8s-app" = "headlamp" }
      port        = 80
      target_port = 4466
      port_name   = "http"
      scheme      = "http"
    }
    dashboard = {
      namespace   = "kubernetes-dashboard"
      selector    = { "k8s-app" = "kubernetes-dashboard" }
      port        = 443
      target_port = 8443
      port_name   = "https"
      scheme      = "https"
    }
  }
  target    = local.targets[var.kind]
  namespace = coalesce(var.namespace, local.target.namespace)
}

resource "kubernetes_service_account_v1" "admin" {
  metadata {
    name      = var.admin_name
    namespace = local.namespace
    labels    = var.labels
  }
}

resource "kubernetes_cluster_role_binding_v1" "admin" {
  metadata {
    name   = var.admin_name
    labels = var.labels
  }

  role_ref {
    api_group = "rbac.authorization.k8s.io"
    kind      = "ClusterRole"
    name      = var.cluster_role
  }

  subject {
    kind      = "ServiceAccount"
    name      = kubernetes_service_account_v1.admin.metadata[0].name
    namespace = local.namespace
  }
}

resource "kubernetes_service_v1" "ui" {
  metadata {
    name      = var.service_name
    namespace = local.namespace
    labels    = var.labels
    # Asking for the address makes the URL known in advance and stable across re-creation.
    annotations = var.address == null ? {} : { "metallb.io/loadBalancerIPs" = var.address }
  }

  spec {
    type = "LoadBalancer"
    # Cluster, not Local: MetalLB L2 announces the address from one node; with Local, a node
    # without the (single) UI pod answers ARP but drops the TCP SYNs (metallb#1777), the classic
    # "LoadBalancer IP never answers from the host".
    external_traffic_policy = "Cluster"
    selector                = local.target.selector

    port {
      name        = local.target.port_name
      protocol    = "TCP"
      port        = local.target.port
      target_port = tostring(local.target.target_port)
    }
  }

  wait_for_load_balancer = var.wait_for_load_balancer
}

variable "kind" {
  description = "Which UI runs in the cluster: headlamp (Deployment headlamp in kube-system, pod label k8s-app=headlamp, HTTP on 4466, exposed on 80) or dashboard (Kubernetes Dashboard v2.7.0 in kubernetes-dashboard, k8s-app=kubernetes-dashboard, HTTPS on 8443, exposed on 443). The module exposes it; it does not install it."
  type        = string
  default     = "headlamp"

  validation {
    condition     = contains(["headlamp", "dashboard"], var.kind)
    error_message = "kind must be headlamp or dashboard."
  }
}

variable "address" {
  description = "The LoadBalancer address to ask MetalLB for (annotation metallb.io/loadBalancerIPs), such as the cluster module's ui_address or the metallb module's first_address: the UI's URL is then known before it runs and survives re-creating the Service. Null: MetalLB picks one (read it from the url output after apply)."
  type        = string
  default     = null

  validation {
    condition     = var.address == null ? true : can(cidrhost("${var.address}/32", 0))
    error_message = "address must be an IPv4 address such as 192.168.56.46."
  }
}

variable "namespace" {
  description = "Namespace the UI runs in, where the Service and the login ServiceAccount go. Null: kube-system for headlamp, kubernetes-dashboard for dashboard (as their upstream manifests install them)."
  type        = string
  default     = null

  validation {
    condition     = var.namespace == null ? true : can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a DNS-1123 label, such as kube-system."
  }
}

variable "service_name" {
  description = "Name of the LoadBalancer Service in front of the UI. kubelab's own is kubelab-ui: on a cluster whose kubelab file has a ui other than none, kubelab already owns that name."
  type        = string
  default     = "kubelab-ui"

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", var.service_name))
    error_message = "service_name must be a DNS-1035 label (a lowercase letter first), such as kubelab-ui."
  }
}

variable "admin_name" {
  description = "Name of the ServiceAccount a human logs in with, and of its ClusterRoleBinding (kubelab's own: kubelab-ui-admin)."
  type        = string
  default     = "kubelab-ui-admin"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.admin_name))
    error_message = "admin_name must be a DNS-1123 subdomain, such as kubelab-ui-admin."
  }
}

variable "cluster_role" {
  description = "ClusterRole bound to the login ServiceAccount. cluster-admin suits a disposable lab on a host-only network (the UI shows and edits everything); use view on anything shared."
  type        = string
  default     = "cluster-admin"

  validation {
    condition     = length(var.cluster_role) > 0
    error_message = "cluster_role must name a ClusterRole, such as cluster-admin or view."
  }
}

variable "wait_for_load_balancer" {
  description = "Wait, at apply, until the Service has its LoadBalancer address (MetalLB assigned it). Set false on a cluster without a load balancer implementation, where it would wait until the timeout."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Labels on the Service, the ServiceAccount and the ClusterRoleBinding."
  type        = map(string)
  default     = { "app.kubernetes.io/managed-by" = "terraform" }
}

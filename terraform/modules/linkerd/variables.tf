variable "chart_version" {
  description = "Version of the linkerd-crds and linkerd-control-plane charts. Linkerd edge-YY.M.N is chart 20YY.M.N; kubelab pins edge-26.8.3."
  type        = string
  default     = "2026.8.3"

  validation {
    condition     = can(regex("^[0-9]{4}\\.[0-9]{1,2}\\.[0-9]+$", var.chart_version))
    error_message = "chart_version must be an edge chart version such as 2026.8.3."
  }
}

variable "repository" {
  description = "Helm repository of the charts (the edge channel)."
  type        = string
  default     = "https://helm.linkerd.io/edge"

  validation {
    condition     = can(regex("^(https?|oci)://", var.repository)) || startswith(var.repository, "/") || startswith(var.repository, ".")
    error_message = "repository must be an http(s):// or oci:// URL, or a local path."
  }
}

variable "namespace" {
  description = "Namespace of the control plane."
  type        = string
  default     = "linkerd"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a DNS-1123 label, such as linkerd."
  }
}

variable "create_namespace" {
  description = "Create the namespace with the labels `linkerd install` gives it (control-plane labels, admission webhooks off for itself, pod security privileged: linkerd-init needs NET_ADMIN without the Linkerd CNI). False if it exists already."
  type        = bool
  default     = true
}

variable "cluster_domain" {
  description = "The cluster's DNS domain: the trust anchor is root.linkerd.<domain>, the issuer identity.linkerd.<domain>."
  type        = string
  default     = "cluster.local"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", var.cluster_domain))
    error_message = "cluster_domain must be a DNS name such as cluster.local."
  }
}

variable "trust_anchor_validity_hours" {
  description = "Validity of the trust anchor (root CA), made once: 87600 = 10 years. The anchor is never re-created by Terraform (rotating it breaks mTLS between meshed pods)."
  type        = number
  default     = 87600

  validation {
    condition     = var.trust_anchor_validity_hours >= 8760
    error_message = "trust_anchor_validity_hours must be at least 8760 (one year)."
  }
}

variable "issuer_validity_hours" {
  description = "Validity of the identity issuer certificate (intermediate CA, signed by the anchor): 8760 = 1 year."
  type        = number
  default     = 8760

  validation {
    condition     = var.issuer_validity_hours >= 24
    error_message = "issuer_validity_hours must be at least 24."
  }
}

variable "issuer_early_renewal_hours" {
  description = "Re-issue the issuer this many hours before it expires (the next apply after that point plans a new issuer from the same anchor and upgrades the control plane): 720 = 30 days, as kubelab does."
  type        = number
  default     = 720

  validation {
    condition     = var.issuer_early_renewal_hours >= 0
    error_message = "issuer_early_renewal_hours must not be negative."
  }
}

variable "install_gateway_api" {
  description = "Let linkerd-crds install its own copy of the Gateway API CRDs (chart value installGatewayAPI). False (kubelab's choice): the Gateway API v1.5.1 standard CRDs must already be installed, as `kubelab up` does; true only on a cluster with no Gateway API CRDs at all."
  type        = bool
  default     = false
}

variable "control_plane_values" {
  description = "Further values for linkerd-control-plane, as YAML documents (e.g. [yamlencode({ proxy = { resources = { memory = { limit = \"250Mi\" } } } })]); they come after the module's own values, so they win."
  type        = list(string)
  default     = []
}

variable "timeout" {
  description = "Seconds Helm waits for each release to be ready (its Deployments available) before failing."
  type        = number
  default     = 900

  validation {
    condition     = var.timeout >= 60
    error_message = "timeout must be at least 60 seconds."
  }
}

variable "labels" {
  description = "Extra labels on the namespace."
  type        = map(string)
  default     = { "app.kubernetes.io/managed-by" = "terraform" }
}

variable "name" {
  description = "Name of the IPAddressPool and of the L2Advertisement that announces it. kubelab names its own kubelab-<cluster name>: do not reuse that name on a cluster whose kubelab file enables MetalLB."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.name))
    error_message = "name must be a DNS-1123 subdomain (lowercase letters, digits, '-' and '.'), such as lab-pool."
  }
}

variable "addresses" {
  description = "Addresses MetalLB hands to LoadBalancer Services: ranges FIRST-LAST, single addresses or IPv4 CIDRs, such as [\"192.168.56.46-192.168.56.56\"] (the cluster module's lb_pools). They must be on the nodes' L2 network, off node addresses and DHCP, and may not overlap another pool (MetalLB's webhook refuses it)."
  type        = list(string)

  validation {
    condition     = length(var.addresses) > 0
    error_message = "addresses must list at least one range or CIDR."
  }
  validation {
    condition = alltrue([
      for p in var.addresses : strcontains(p, "/")
      ? (can(cidrhost(p, 0)) && !strcontains(p, ":") && try(cidrsubnet(p, 0, 0) == p, false))
      : (length(split("-", p)) <= 2 && alltrue([for a in split("-", p) : can(cidrhost("${trimspace(a)}/32", 0))]))
    ])
    error_message = "Each address must be a range FIRST-LAST (192.168.56.46-192.168.56.56), one address, or an IPv4 CIDR with zero host bits (192.168.56.48/28)."
  }
}

variable "namespace" {
  description = "Namespace MetalLB runs in (where its IPAddressPool and L2Advertisement objects live)."
  type        = string
  default     = "metallb-system"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a DNS-1123 label, such as metallb-system."
  }
}

variable "auto_assign" {
  description = "Whether MetalLB may give addresses from this pool to any LoadBalancer Service (spec.autoAssign). False: only to Services that ask for it (annotation metallb.io/address-pool or metallb.io/loadBalancerIPs)."
  type        = bool
  default     = true
}

variable "avoid_buggy_ips" {
  description = "Skip addresses ending in .0 and .255 (spec.avoidBuggyIPs), for clients that mishandle them."
  type        = bool
  default     = false
}

variable "interfaces" {
  description = "Announce only from these node interfaces (L2Advertisement spec.interfaces), such as [\"eth1\"] on a lab with a NAT NIC. Empty: every interface."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for i in var.interfaces : can(regex("^[A-Za-z0-9_.:-]{1,15}$", i))])
    error_message = "Each interface must be an interface name such as eth1."
  }
}

variable "labels" {
  description = "Labels on both objects."
  type        = map(string)
  default     = { "app.kubernetes.io/managed-by" = "terraform" }
}

# Two ways to say what the cluster is:
# - cluster_file: a kubelab cluster file (kubelab.yaml or kubelab.config.ts) you keep yourself;
# - name + nodes (+ provider_config, network, kubernetes, containerd, addons): the module writes
#   the cluster file itself, to <root module>/.kubelab-tf/<name>.yaml.
# Set one of cluster_file and name, not both.

variable "cluster_file" {
  description = "Path to an existing kubelab cluster file (kubelab.yaml, or kubelab.config.ts with plan_json). The cluster directory .kubelab/<name>/ is created next to it. Leave null to describe the cluster with name, nodes and the other variables instead."
  type        = string
  default     = null

  validation {
    condition     = var.cluster_file == null ? true : length(regexall("\\.(ya?ml|json|(m|c)?ts)$", var.cluster_file)) > 0
    error_message = "cluster_file must be a YAML cluster file (.yaml, .yml) or a TypeScript one (.ts), such as kubelab.yaml."
  }
}

variable "plan_json" {
  description = "The output of `kubelab plan -f FILE -o json` for this cluster, as a string (in a root module: file(\"kubelab-plan.json\")). It is where node addresses, the API endpoint, the MetalLB pools and the UI address come from (Terraform cannot run kubelab at plan time); re-running `kubelab up` is also triggered when it changes (a kubelab upgrade with new pinned versions). Without it those outputs are null."
  type        = string
  default     = null

  validation {
    condition     = var.plan_json == null ? true : can(jsondecode(var.plan_json).name) && can(jsondecode(var.plan_json).nodes[0].ip) && can(jsondecode(var.plan_json).kubernetes.controlPlaneEndpoint)
    error_message = "plan_json must be the JSON printed by `kubelab plan -f FILE -o json` (an object with name, nodes[].ip and kubernetes.controlPlaneEndpoint)."
  }
}

variable "name" {
  description = "Cluster name (metadata.name) when the module writes the cluster file: lowercase letters, digits and '-', at most 40 characters. Gives the kubeconfig context kubelab-<name> and the cluster directory. Leave null with cluster_file."
  type        = string
  default     = null

  validation {
    condition     = var.name == null ? true : can(regex("^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$", var.name))
    error_message = "name must be lowercase letters, digits and '-', start and end with a letter or digit, and be at most 40 characters, such as lab."
  }
}

variable "provider_config" {
  description = "Machine provider when the module writes the cluster file (kubelab's `provider:`): name = vagrant (hypervisor, box, box_version, libvirt_driver, cpus, memory), nspawn (release) or ssh (hosts). Null keeps kubelab's default (vagrant). Memory is MiB (\"4096\") or \"4Gi\"/\"512Mi\"."
  type = object({
    name           = string
    hypervisor     = optional(string)
    box            = optional(string)
    box_version    = optional(string)
    libvirt_driver = optional(string)
    cpus           = optional(number)
    memory         = optional(string)
    release        = optional(string)
    hosts = optional(list(object({
      node    = string
      address = string
      user    = optional(string)
      port    = optional(number)
      key     = optional(string)
      jump = optional(object({
        address = string
        user    = optional(string)
        port    = optional(number)
        key     = optional(string)
      }))
    })))
  })
  default = null

  validation {
    condition     = var.provider_config == null ? true : contains(["vagrant", "nspawn", "ssh"], var.provider_config.name)
    error_message = "provider_config.name must be vagrant, nspawn or ssh."
  }
  validation {
    condition     = var.provider_config == null ? true : (var.provider_config.hypervisor == null ? true : contains(["virtualbox", "libvirt"], var.provider_config.hypervisor))
    error_message = "provider_config.hypervisor must be virtualbox or libvirt."
  }
  validation {
    condition     = var.provider_config == null ? true : (var.provider_config.release == null ? true : contains(["bookworm", "trixie", "jammy", "noble"], var.provider_config.release))
    error_message = "provider_config.release must be bookworm, trixie, jammy or noble."
  }
  validation {
    condition     = var.provider_config == null ? true : (var.provider_config.memory == null ? true : can(regex("^[0-9]+(Mi|Gi)?$", var.provider_config.memory)))
    error_message = "provider_config.memory must be MiB such as \"4096\", or a size such as \"4Gi\" or \"512Mi\"."
  }
  validation {
    condition     = var.provider_config == null ? true : (var.provider_config.name == "ssh") == (var.provider_config.hosts != null)
    error_message = "provider_config.hosts is required with provider ssh, and only allowed there."
  }
}

variable "nodes" {
  description = "Nodes when the module writes the cluster file (kubelab's `nodes:`): name (DNS-1123 label, or a pattern with {n} together with count), role (control-plane or worker), and optionally count, cpus, memory (MiB as \"4096\", or \"4Gi\") and ip (fixed lab address, the first of a group)."
  type = list(object({
    name   = string
    role   = string
    count  = optional(number)
    cpus   = optional(number)
    memory = optional(string)
    ip     = optional(string)
  }))
  default = null

  validation {
    condition     = var.nodes == null ? true : length(var.nodes) > 0
    error_message = "nodes must list at least one node."
  }
  validation {
    condition     = var.nodes == null ? true : alltrue([for n in var.nodes : can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", replace(n.name, "{n}", "1"))) && length(replace(n.name, "{n}", "1")) <= 63])
    error_message = "Each node name must be a DNS-1123 label (lowercase letters, digits and '-'), or a pattern with {n} such as worker-{n}."
  }
  validation {
    condition     = var.nodes == null ? true : alltrue([for n in var.nodes : contains(["control-plane", "worker"], n.role)])
    error_message = "Each node role must be control-plane or worker."
  }
  validation {
    condition     = var.nodes == null ? true : alltrue([for n in var.nodes : n.count == null ? true : (n.count >= 1 && n.count <= 250 && floor(n.count) == n.count)])
    error_message = "A node count must be a whole number from 1 to 250."
  }
  validation {
    condition     = var.nodes == null ? true : alltrue([for n in var.nodes : n.memory == null ? true : can(regex("^[0-9]+(Mi|Gi)?$", n.memory))])
    error_message = "A node memory must be MiB such as \"4096\", or a size such as \"4Gi\" or \"512Mi\"."
  }
  validation {
    condition     = var.nodes == null ? true : alltrue([for n in var.nodes : n.ip == null ? true : can(cidrhost("${n.ip}/32", 0))])
    error_message = "A node ip must be an IPv4 address such as 192.168.56.11."
  }
}

variable "network" {
  description = "Lab network when the module writes the cluster file (kubelab's `network:`): cidr, and optionally gateway, first_address and dhcp_range (a range FIRST-LAST, or \"none\" for no DHCP). Null keeps kubelab's default (192.168.56.0/24)."
  type = object({
    cidr          = string
    gateway       = optional(string)
    first_address = optional(string)
    dhcp_range    = optional(string)
  })
  default = null

  validation {
    condition     = var.network == null ? true : can(cidrhost(var.network.cidr, 0)) && !strcontains(var.network.cidr, ":") && try(cidrsubnet(var.network.cidr, 0, 0) == var.network.cidr, false)
    error_message = "network.cidr must be an IPv4 CIDR with zero host bits, such as 192.168.56.0/24."
  }
  validation {
    condition     = var.network == null ? true : alltrue([for a in compact([var.network.gateway, var.network.first_address]) : can(cidrhost("${a}/32", 0))])
    error_message = "network.gateway and network.first_address must be IPv4 addresses such as 192.168.56.1."
  }
  validation {
    condition     = var.network == null ? true : (var.network.dhcp_range == null ? true : (var.network.dhcp_range == "none" || alltrue([for p in split("-", var.network.dhcp_range) : can(cidrhost("${trimspace(p)}/32", 0))])))
    error_message = "network.dhcp_range must be a range FIRST-LAST such as 192.168.56.100-192.168.56.254, or \"none\"."
  }
}

variable "kubernetes" {
  description = "Kubernetes settings when the module writes the cluster file (kubelab's `kubernetes:`): version (such as v1.37.2), pod_subnet, service_subnet, proxy_mode (iptables, nftables or ipvs), strict_arp, control_plane_endpoint. Unset fields keep kubelab's defaults (its pinned version)."
  type = object({
    version                = optional(string)
    pod_subnet             = optional(string)
    service_subnet         = optional(string)
    proxy_mode             = optional(string)
    strict_arp             = optional(bool)
    control_plane_endpoint = optional(string)
  })
  default = {}

  validation {
    condition     = try(var.kubernetes.version, null) == null ? true : can(regex("^v[0-9]+\\.[0-9]+\\.[0-9]+$", var.kubernetes.version))
    error_message = "kubernetes.version must be a release such as v1.37.2."
  }
  validation {
    condition     = alltrue([for c in compact([try(var.kubernetes.pod_subnet, null), try(var.kubernetes.service_subnet, null)]) : can(cidrhost(c, 0)) && try(cidrsubnet(c, 0, 0) == c, false)])
    error_message = "kubernetes.pod_subnet and kubernetes.service_subnet must be IPv4 CIDRs with zero host bits, such as 192.168.112.0/20."
  }
  validation {
    condition     = try(var.kubernetes.proxy_mode, null) == null ? true : contains(["iptables", "nftables", "ipvs"], var.kubernetes.proxy_mode)
    error_message = "kubernetes.proxy_mode must be iptables, nftables or ipvs."
  }
}

variable "containerd" {
  description = "containerd settings when the module writes the cluster file (kubelab's `containerd:`): cgroup_driver (systemd or cgroupfs) and version (\"2.x\" or \"1.7\"). Unset fields keep kubelab's defaults."
  type = object({
    cgroup_driver = optional(string)
    version       = optional(string)
  })
  default = {}

  validation {
    condition     = try(var.containerd.cgroup_driver, null) == null ? true : contains(["systemd", "cgroupfs"], var.containerd.cgroup_driver)
    error_message = "containerd.cgroup_driver must be systemd or cgroupfs."
  }
  validation {
    condition     = try(var.containerd.version, null) == null ? true : contains(["2.x", "1.7"], var.containerd.version)
    error_message = "containerd.version must be \"2.x\" or \"1.7\"."
  }
}

variable "addons" {
  description = "Addons when the module writes the cluster file (kubelab's `addons:`): cni (plugin calico or none, version, autodetection), metallb (enabled, version, pools: ranges FIRST-LAST or CIDRs), ui (headlamp, dashboard or none), linkerd (enabled, version, viz). Unset fields keep kubelab's defaults (Calico, MetalLB with 192.168.56.46-192.168.56.56, Headlamp, Linkerd)."
  type = object({
    cni = optional(object({
      plugin        = optional(string)
      version       = optional(string)
      autodetection = optional(string)
    }))
    metallb = optional(object({
      enabled = optional(bool)
      version = optional(string)
      pools   = optional(list(string))
    }))
    ui = optional(string)
    linkerd = optional(object({
      enabled = optional(bool)
      version = optional(string)
      viz     = optional(bool)
    }))
  })
  default = {}

  validation {
    condition     = try(var.addons.cni.plugin, null) == null ? true : contains(["calico", "none"], var.addons.cni.plugin)
    error_message = "addons.cni.plugin must be calico or none."
  }
  validation {
    condition     = try(var.addons.ui, null) == null ? true : contains(["headlamp", "dashboard", "none"], var.addons.ui)
    error_message = "addons.ui must be headlamp, dashboard or none."
  }
  validation {
    condition = try(var.addons.metallb.pools, null) == null ? true : length(var.addons.metallb.pools) > 0 && alltrue([
      for p in var.addons.metallb.pools : strcontains(p, "/")
      ? (can(cidrhost(p, 0)) && try(cidrsubnet(p, 0, 0) == p, false))
      : (length(split("-", p)) <= 2 && alltrue([for a in split("-", p) : can(cidrhost("${trimspace(a)}/32", 0))]))
    ])
    error_message = "addons.metallb.pools must list ranges FIRST-LAST, single addresses or IPv4 CIDRs, such as 192.168.56.46-192.168.56.56."
  }
  validation {
    condition     = try(var.addons.linkerd.version, null) == null ? true : can(regex("^edge-[0-9]{2}\\.[0-9]{1,2}\\.[0-9]+$", var.addons.linkerd.version))
    error_message = "addons.linkerd.version must be an edge release such as edge-26.8.3."
  }
}

variable "kubelab_command" {
  description = "The kubelab command, as a shell command prefix: \"kubelab\" (on PATH), \"npx kubelab\", or \"node /path/to/kubelab/bin/kubelab.js\". Run by /bin/sh in the directory Terraform runs in."
  type        = string
  default     = "kubelab"

  validation {
    condition     = length(trimspace(var.kubelab_command)) > 0
    error_message = "kubelab_command must not be empty."
  }
}

variable "bundle" {
  description = "Offline bundle for `kubelab up --bundle` (a directory or a .tar made by `kubelab bundle create`): nothing is downloaded. Null to download (and verify) from the pinned sources."
  type        = string
  default     = null
}

variable "merge_kubeconfig" {
  description = "Merge the context kubelab-<name> into ~/.kube/config (or the first file in $KUBECONFIG), as `kubelab up` does by default. False passes --no-kubeconfig: only the cluster directory's copy (output kubeconfig_path) is written."
  type        = bool
  default     = true
}

variable "extra_args" {
  description = "Further arguments for `kubelab up`, each passed as one shell word, such as [\"--accept-new-host-keys\"] or [\"--concurrency\", \"4\"]."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.extra_args : !contains(["-f", "--file", "--bundle", "--no-kubeconfig", "--dry-run"], split("=", a)[0])])
    error_message = "extra_args must not set -f/--file, --bundle, --no-kubeconfig or --dry-run: use cluster_file, bundle and merge_kubeconfig."
  }
}

variable "triggers" {
  description = "Extra values whose change re-runs `kubelab up` (it only changes what differs), such as {kubelab = \"0.1.0\"}. The cluster file's content and plan_json already do."
  type        = map(string)
  default     = {}
}

variable "manage_addons_in_terraform" {
  description = "False (default): kubelab installs and owns every addon (`kubelab up` with kubelab.yaml), Terraform only runs kubelab. True: the cluster comes from kubelab-terraform-addons.yaml, which leaves Linkerd to Terraform (module linkerd), and MetalLB's pool or the UI's Service too if that file leaves them (module metallb, module ui)."
  type        = bool
  default     = false
}

variable "kubelab_command" {
  description = "The kubelab command, as a shell command prefix: \"kubelab\", \"npx kubelab\" or \"node /path/to/kubelab/bin/kubelab.js\"."
  type        = string
  default     = "kubelab"
}

variable "bundle" {
  description = "Offline bundle for `kubelab up --bundle` (made by `kubelab bundle create`); null to download."
  type        = string
  default     = null
}

variable "merge_kubeconfig" {
  description = "Merge the context kubelab-classic-lab into ~/.kube/config (false: only .kubelab/classic-lab/kubeconfig, which the providers below use either way)."
  type        = bool
  default     = true
}

variable "lb_pools" {
  description = "MetalLB pools for module metallb, used only when Terraform manages MetalLB's configuration (the cluster file sets addons.metallb.enabled: false)."
  type        = list(string)
  default     = ["192.168.56.46-192.168.56.56"]
}

variable "ui_kind" {
  description = "The UI module ui exposes when Terraform manages the UI's Service (the cluster file sets addons.ui: none): headlamp or dashboard."
  type        = string
  default     = "headlamp"

  validation {
    condition     = contains(["headlamp", "dashboard"], var.ui_kind)
    error_message = "ui_kind must be headlamp or dashboard."
  }
}

# A kubelab cluster as Terraform resources. kubelab does the work (machines, node preparation,
# kubeadm, addons) and returns only when everything is Ready; Terraform decides when to run it:
#
# - terraform_data.cluster: the cluster's identity (name, cluster file location, provider).
#   Replaced only when that changes; its destroy-time provisioner runs `kubelab down`.
# - terraform_data.up: runs `kubelab up`. Replaced, so `up` runs again, when the cluster file's
#   content, plan_json (pinned versions) or var.triggers change. `up` changes only what differs
#   and a node added to the file joins, so a change never destroys the cluster.
# - terraform_data.kubeconfig: created after the first `up`, so that providers configured from
#   the kubeconfig_path output wait for the cluster; it stays known on later changes.
#
# Only the builtin provider is used: `tofu init` works offline.

locals {
  generated = var.cluster_file == null

  # Whether any field that describes the cluster in variables is set (they conflict with cluster_file).
  fields_given = anytrue(concat(
    [var.name != null, var.nodes != null, var.provider_config != null, var.network != null],
    [for v in try(values(var.kubernetes), []) : v != null],
    [for v in try(values(var.containerd), []) : v != null],
    [for v in try(values(var.addons), []) : v != null],
  ))

  # -- The cluster file written by the module (name + nodes + ...) ---------------------------

  # kubelab accepts memory as MiB (a number) or "4Gi"/"512Mi" (a string).
  # (Tuple indexes, not conditionals, which would convert the number back to a string.)
  provider_memory = try(var.provider_config.memory, null) == null ? null : (
    [try(tonumber(var.provider_config.memory), null), var.provider_config.memory][can(regex("^[0-9]+$", var.provider_config.memory)) ? 0 : 1]
  )

  provider_document = var.provider_config == null ? null : { for k, v in {
    name          = var.provider_config.name
    hypervisor    = var.provider_config.hypervisor
    box           = var.provider_config.box
    boxVersion    = var.provider_config.box_version
    libvirtDriver = var.provider_config.libvirt_driver
    cpus          = var.provider_config.cpus
    memory        = local.provider_memory
    release       = var.provider_config.release
    hosts = var.provider_config.hosts == null ? null : [for h in var.provider_config.hosts : { for k, v in {
      node    = h.node
      address = h.address
      user    = h.user
      port    = h.port
      key     = h.key
      jump = h.jump == null ? null : { for k, v in {
        address = h.jump.address
        user    = h.jump.user
        port    = h.jump.port
        key     = h.jump.key
      } : k => v if v != null }
    } : k => v if v != null }]
  } : k => v if v != null }

  nodes_document = var.nodes == null ? null : [for n in var.nodes : { for k, v in {
    name   = n.name
    role   = n.role
    count  = n.count
    cpus   = n.cpus
    memory = n.memory == null ? null : [try(tonumber(n.memory), null), n.memory][can(regex("^[0-9]+$", n.memory)) ? 0 : 1]
    ip     = n.ip
  } : k => v if v != null }]

  network_document = var.network == null ? null : merge(
    { for k, v in {
      cidr         = var.network.cidr
      gateway      = var.network.gateway
      firstAddress = var.network.first_address
      dhcpRange    = var.network.dhcp_range == "none" ? null : var.network.dhcp_range
    } : k => v if v != null },
    # kubelab's `dhcpRange: null` means "no DHCP range" (unset means the provider's default).
    var.network.dhcp_range == "none" ? { dhcpRange = null } : {},
  )

  kubernetes_document = { for k, v in {
    version              = try(var.kubernetes.version, null)
    podSubnet            = try(var.kubernetes.pod_subnet, null)
    serviceSubnet        = try(var.kubernetes.service_subnet, null)
    proxyMode            = try(var.kubernetes.proxy_mode, null)
    strictARP            = try(var.kubernetes.strict_arp, null)
    controlPlaneEndpoint = try(var.kubernetes.control_plane_endpoint, null)
  } : k => v if v != null }

  containerd_document = { for k, v in {
    cgroupDriver = try(var.containerd.cgroup_driver, null)
    version      = try(var.containerd.version, null)
  } : k => v if v != null }

  addons_document = { for k, v in {
    cni = try(var.addons.cni, null) == null ? null : { for k, v in {
      plugin        = var.addons.cni.plugin
      version       = var.addons.cni.version
      autodetection = var.addons.cni.autodetection
    } : k => v if v != null }
    metallb = try(var.addons.metallb, null) == null ? null : { for k, v in {
      enabled = var.addons.metallb.enabled
      version = var.addons.metallb.version
      pools   = var.addons.metallb.pools
    } : k => v if v != null }
    ui = try(var.addons.ui, null)
    linkerd = try(var.addons.linkerd, null) == null ? null : { for k, v in {
      enabled = var.addons.linkerd.enabled
      version = var.addons.linkerd.version
      viz     = var.addons.linkerd.viz
    } : k => v if v != null }
  } : k => v if v != null }

  cluster_document = local.generated ? { for k, v in {
    apiVersion = "kubelab.dev/v1alpha1"
    kind       = "Cluster"
    metadata   = { name = var.name }
    provider   = local.provider_document
    nodes      = local.nodes_document
    network    = local.network_document
    kubernetes = length(local.kubernetes_document) > 0 ? local.kubernetes_document : null
    containerd = length(local.containerd_document) > 0 ? local.containerd_document : null
    addons     = length(local.addons_document) > 0 ? local.addons_document : null
  } : k => v if v != null } : null

  # The file's text: what the module writes, or what the given file holds. Its hash re-runs `up`.
  cluster_content = local.generated ? join("", [
    "# Written by the kubelab Terraform module (terraform/modules/cluster); edit the module's inputs, not this file.\n",
    yamlencode(local.cluster_document),
  ]) : file(var.cluster_file)

  # Absolute, so that the destroy-time provisioner finds it from state whatever the working directory.
  cluster_file_path = local.generated ? abspath("${path.root}/.kubelab-tf/${coalesce(var.name, "unnamed")}.yaml") : abspath(var.cluster_file)

  # -- Plan facts ------------------------------------------------------------------------------

  plan = var.plan_json == null ? null : jsondecode(var.plan_json)

  # The cluster document as written: the module's own, or a YAML (or JSON) file's; not a .ts one.
  file_is_typescript = !local.generated && length(regexall("\\.(m|c)?ts$", coalesce(var.cluster_file, "-"))) > 0
  file_document      = local.generated || local.file_is_typescript ? null : try(yamldecode(local.cluster_content), null)
  # (A tuple index, not a conditional: the two objects have different types.)
  document = [local.cluster_document, local.file_document][local.generated ? 0 : 1]

  name = local.generated ? var.name : try(local.plan.name, local.document.metadata.name, null)

  # Checks that plan_json is the plan of this very file (a stale kubelab-plan.json would give
  # wrong outputs): every field the file sets that the plan shows must agree.
  document_node_names = try(flatten([for n in local.document.nodes : [for i in range(try(n.count, 1)) : replace(n.name, "{n}", tostring(i + 1))]]), null)
  plan_mismatches = local.plan == null || local.document == null ? [] : compact([
    try(local.document.metadata.name, null) == local.plan.name ? "" : "metadata.name ${try(local.document.metadata.name, "(none)")} vs plan ${local.plan.name}",
    local.document_node_names == null || try(jsonencode(local.document_node_names) == jsonencode([for n in local.plan.nodes : n.name]), false) ? "" : "node names ${jsonencode(local.document_node_names)} vs plan ${jsonencode([for n in local.plan.nodes : n.name])}",
    try(local.document.provider.name, "vagrant") == local.plan.provider.name ? "" : "provider ${try(local.document.provider.name, "vagrant")} vs plan ${local.plan.provider.name}",
    try(local.document.network.cidr, local.plan.network.cidr) == local.plan.network.cidr ? "" : "network.cidr ${local.document.network.cidr} vs plan ${local.plan.network.cidr}",
    try(local.document.kubernetes.version, local.plan.kubernetes.version) == local.plan.kubernetes.version ? "" : "kubernetes.version ${local.document.kubernetes.version} vs plan ${local.plan.kubernetes.version}",
    try(local.document.addons.metallb.enabled, local.plan.addons.metallb.enabled) == local.plan.addons.metallb.enabled ? "" : "addons.metallb.enabled differs from the plan",
    try(jsonencode(local.document.addons.metallb.pools) == jsonencode(local.plan.addons.metallb.pools), true) ? "" : "addons.metallb.pools ${jsonencode(local.document.addons.metallb.pools)} vs plan ${jsonencode(try(local.plan.addons.metallb.pools, []))}",
    try(local.document.addons.ui, local.plan.addons.ui.kind) == local.plan.addons.ui.kind ? "" : "addons.ui ${local.document.addons.ui} vs plan ${local.plan.addons.ui.kind}",
    try(local.document.addons.linkerd.enabled, local.plan.addons.linkerd.enabled) == local.plan.addons.linkerd.enabled ? "" : "addons.linkerd.enabled differs from the plan",
  ])

  provider_name = try(local.plan.provider.name, local.document.provider.name, "vagrant")

  # kubelab's cluster directory is .kubelab/<name>/ next to the cluster file.
  cluster_dir     = local.name == null ? null : "${dirname(local.cluster_file_path)}/.kubelab/${local.name}"
  kubeconfig_path = local.cluster_dir == null ? null : "${local.cluster_dir}/kubeconfig"
  context         = local.name == null ? null : "kubelab-${local.name}"

  metallb_enabled = try(local.plan.addons.metallb.enabled, null)
  lb_pools        = local.plan == null ? null : (local.metallb_enabled ? local.plan.addons.metallb.pools : [])
  ui_kind         = try(local.plan.addons.ui.kind, null)

  # kubelab pins the UI Service to the first address of the first pool (annotation
  # metallb.io/loadBalancerIPs): a range's first address, or a CIDR's first (as kubelab and
  # MetalLB count it, the CIDR's own address; a pool is inside the lab network, so that is an
  # ordinary host address there).
  first_pool = try(local.lb_pools[0], null)
  first_pool_address = local.first_pool == null ? null : (
    strcontains(local.first_pool, "/") ? cidrhost(local.first_pool, 0) : trimspace(split("-", local.first_pool)[0])
  )
  ui_address = local.ui_kind == null || local.ui_kind == "none" ? null : local.first_pool_address
  ui_scheme  = local.ui_kind == "dashboard" ? "https" : "http"
  ui_url     = local.ui_address == null ? null : "${local.ui_scheme}://${local.ui_address}/"

  # -- Shell commands --------------------------------------------------------------------------

  # One shell word per argument: 'it'\''s' quoting.
  extra_args = join("", [for a in var.extra_args : " '${replace(a, "'", "'\\''")}'"])

  up_command = join("", [
    "set -eu\n",
    "if [ -n \"$KUBELAB_WRITE_FILE\" ]; then\n",
    "  mkdir -p \"$(dirname \"$KUBELAB_FILE\")\"\n",
    "  printf '%s' \"$KUBELAB_CONTENT\" > \"$KUBELAB_FILE\"\n",
    "fi\n",
    "${var.kubelab_command} up -f \"$KUBELAB_FILE\"",
    var.bundle == null ? "" : " --bundle \"$KUBELAB_BUNDLE\"",
    var.merge_kubeconfig ? "" : " --no-kubeconfig",
    local.extra_args,
    "\n",
  ])

  # `kubelab down` on the content last applied, in the cluster file's directory (so it finds the
  # same .kubelab/<name>/): the file may have changed since, or be gone.
  down_command = join("", [
    "set -eu\n",
    "dir=\"$(dirname \"$KUBELAB_FILE\")\"\n",
    "snapshot=\"$dir/.kubelab-tf-down.$(basename \"$KUBELAB_FILE\")\"\n",
    "mkdir -p \"$dir\"\n",
    "printf '%s' \"$KUBELAB_CONTENT\" > \"$snapshot\"\n",
    "trap 'rm -f \"$snapshot\"' EXIT\n",
    "${var.kubelab_command} down -f \"$snapshot\" --force\n",
    "if [ -n \"$KUBELAB_WRITE_FILE\" ]; then rm -f \"$KUBELAB_FILE\"; fi\n",
  ])
}

resource "terraform_data" "cluster" {
  # A new identity is a new cluster: the old one is taken down first.
  triggers_replace = {
    name     = local.name
    file     = local.cluster_file_path
    provider = local.provider_name
  }

  # What the destroy-time provisioner needs (it may only read self). Updated in place when the
  # file changes, so `down` always sees the content last applied.
  input = {
    file         = local.cluster_file_path
    content      = local.cluster_content
    generated    = local.generated
    down_command = local.down_command
  }

  lifecycle {
    precondition {
      condition     = (var.cluster_file == null) != (var.name == null)
      error_message = "Set either cluster_file (a kubelab cluster file) or name (with nodes and the other fields; the module writes the file), not both and not neither."
    }
    precondition {
      condition     = var.cluster_file != null || var.nodes != null
      error_message = "nodes is required when the module writes the cluster file (name is set)."
    }
    precondition {
      condition     = var.cluster_file == null || !local.fields_given
      error_message = "With cluster_file, the cluster is described by that file: leave name, nodes, provider_config, network, kubernetes, containerd and addons unset."
    }
    precondition {
      condition     = local.name != null
      error_message = "The cluster's name is unknown: a kubelab.config.ts cluster file needs plan_json (the output of `kubelab plan -f FILE -o json`)."
    }
    precondition {
      condition     = length(local.plan_mismatches) == 0
      error_message = "plan_json is not the plan of this cluster file (${join("; ", local.plan_mismatches)}). Write it again: kubelab plan -f ${local.cluster_file_path} -o json > kubelab-plan.json"
    }
  }

  provisioner "local-exec" {
    when        = destroy
    interpreter = ["/bin/sh", "-c"]
    command     = self.input.down_command
    environment = {
      KUBELAB_FILE       = self.input.file
      KUBELAB_CONTENT    = self.input.content
      KUBELAB_WRITE_FILE = self.input.generated ? "1" : ""
    }
  }
}

resource "terraform_data" "up" {
  triggers_replace = {
    content  = sha256(local.cluster_content)
    plan     = local.plan == null ? "" : sha256(jsonencode(local.plan))
    bundle   = var.bundle == null ? "" : abspath(var.bundle)
    triggers = jsonencode(var.triggers)
  }

  depends_on = [terraform_data.cluster]

  lifecycle {
    # A new cluster (name, file location or provider changed) needs `up` even if the text did not change.
    replace_triggered_by = [terraform_data.cluster.id]
  }

  provisioner "local-exec" {
    interpreter = ["/bin/sh", "-c"]
    command     = local.up_command
    environment = {
      KUBELAB_FILE       = local.cluster_file_path
      KUBELAB_CONTENT    = local.generated ? local.cluster_content : ""
      KUBELAB_WRITE_FILE = local.generated ? "1" : ""
      KUBELAB_BUNDLE     = var.bundle == null ? "" : abspath(var.bundle)
    }
  }
}

# Known after the first `up` only: a provider configured from these outputs (kubernetes, helm)
# is configured once the cluster answers. Later changes to the file leave it as it is; a new
# cluster (new identity, new credentials even at the same path) makes it unknown again.
resource "terraform_data" "kubeconfig" {
  input = {
    path    = local.kubeconfig_path
    context = local.context
  }

  depends_on = [terraform_data.up]

  lifecycle {
    replace_triggered_by = [terraform_data.cluster.id]
  }
}

check "plan_json" {
  assert {
    condition     = var.plan_json != null
    error_message = "plan_json is not set: the outputs api_endpoint, nodes, node_addresses, lb_pools, ui_address and ui_url are null. Pass file(\"kubelab-plan.json\") written by: kubelab plan -f ${local.cluster_file_path} -o json > kubelab-plan.json"
  }
}

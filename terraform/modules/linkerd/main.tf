# Linkerd (edge) from its Helm charts, with an identity PKI made by the tls provider, as kubelab
# does (src/addons/linkerd.ts, src/render/linkerd-identity.ts):
# - trust anchor: ECDSA P-256, self-signed CA, CN root.linkerd.<domain>, 10 years; made once and
#   protected (prevent_destroy, ignore_changes): a new anchor breaks mTLS between meshed pods;
# - issuer: ECDSA P-256, CA signed by the anchor, CN identity.linkerd.<domain>, 1 year, re-issued
#   from the same anchor 30 days before it expires;
# - linkerd-crds (installGatewayAPI=false: the Gateway API CRDs are a prerequisite), then
#   linkerd-control-plane (trust anchor, issuer, usage-reporting heartbeat off), in the namespace
#   the module creates.

resource "tls_private_key" "trust_anchor" {
  algorithm   = "ECDSA"
  ecdsa_curve = "P256"

  lifecycle {
    prevent_destroy = true
    ignore_changes  = all
  }
}

resource "tls_self_signed_cert" "trust_anchor" {
  private_key_pem = tls_private_key.trust_anchor.private_key_pem

  subject {
    common_name = "root.linkerd.${var.cluster_domain}"
  }

  validity_period_hours = var.trust_anchor_validity_hours
  is_ca_certificate     = true
  max_path_length       = 1 # room for the issuer below it (step's root-ca profile)
  set_subject_key_id    = true
  allowed_uses          = ["cert_signing", "crl_signing"]

  lifecycle {
    prevent_destroy = true
    ignore_changes  = all
  }
}

resource "tls_private_key" "issuer" {
  algorithm   = "ECDSA"
  ecdsa_curve = "P256"
}

resource "tls_cert_request" "issuer" {
  private_key_pem = tls_private_key.issuer.private_key_pem

  subject {
    common_name = "identity.linkerd.${var.cluster_domain}"
  }
}

resource "tls_locally_signed_cert" "issuer" {
  cert_request_pem   = tls_cert_request.issuer.cert_request_pem
  ca_private_key_pem = tls_private_key.trust_anchor.private_key_pem
  ca_cert_pem        = tls_self_signed_cert.trust_anchor.cert_pem

  validity_period_hours = var.issuer_validity_hours
  early_renewal_hours   = var.issuer_early_renewal_hours
  is_ca_certificate     = true
  max_path_length       = 0 # signs workload certificates only (step's intermediate-ca profile)
  set_subject_key_id    = true
  set_authority_key_id  = true
  allowed_uses          = ["cert_signing", "crl_signing"]
}

# The namespace `linkerd install` would create (the charts render it only for the CLI).
resource "kubernetes_namespace_v1" "linkerd" {
  count = var.create_namespace ? 1 : 0

  metadata {
    name        = var.namespace
    annotations = { "linkerd.io/inject" = "disabled" }
    labels = merge(var.labels, {
      "linkerd.io/is-control-plane"          = "true"
      "linkerd.io/control-plane-ns"          = var.namespace
      "config.linkerd.io/admission-webhooks" = "disabled"
      "pod-security.kubernetes.io/enforce"   = "privileged"
    })
  }
}

resource "helm_release" "crds" {
  name       = "linkerd-crds"
  repository = var.repository
  chart      = "linkerd-crds"
  version    = var.chart_version
  namespace  = var.namespace
  timeout    = var.timeout

  set = [
    { name = "installGatewayAPI", value = tostring(var.install_gateway_api) },
  ]

  depends_on = [kubernetes_namespace_v1.linkerd]
}

resource "helm_release" "control_plane" {
  name       = "linkerd-control-plane"
  repository = var.repository
  chart      = "linkerd-control-plane"
  version    = var.chart_version
  namespace  = var.namespace
  timeout    = var.timeout
  wait       = true

  values = concat([
    yamlencode({
      # The heartbeat CronJob reports usage to Linkerd's version-check service, which a lab
      # network may not reach; off, as kubelab does.
      disableHeartBeat        = true
      identityTrustAnchorsPEM = tls_self_signed_cert.trust_anchor.cert_pem
      identity = {
        issuer = {
          tls = {
            crtPEM = tls_locally_signed_cert.issuer.cert_pem
          }
        }
      }
    }),
  ], var.control_plane_values)

  # The issuer's private key (SEC1 "EC PRIVATE KEY", as Linkerd wants it): sensitive, out of the plan.
  set_sensitive = [
    { name = "identity.issuer.tls.keyPEM", value = tls_private_key.issuer.private_key_pem },
  ]

  depends_on = [helm_release.crds]
}

output "namespace" {
  description = "Namespace of the control plane."
  value       = helm_release.control_plane.namespace
}

output "chart_version" {
  description = "Version of the installed charts."
  value       = var.chart_version
}

output "trust_anchor_pem" {
  description = "The trust anchor's certificate (public): what other clusters of a multicluster mesh, or anything verifying Linkerd identities, must trust."
  value       = tls_self_signed_cert.trust_anchor.cert_pem
}

output "trust_anchor_not_after" {
  description = "When the trust anchor expires (RFC 3339)."
  value       = tls_self_signed_cert.trust_anchor.validity_end_time
}

output "issuer_cert_pem" {
  description = "The identity issuer's certificate (public)."
  value       = tls_locally_signed_cert.issuer.cert_pem
}

output "issuer_not_after" {
  description = "When the issuer expires (RFC 3339); it is re-issued issuer_early_renewal_hours before."
  value       = tls_locally_signed_cert.issuer.validity_end_time
}

output "releases" {
  description = "Helm release names: linkerd-crds, linkerd-control-plane."
  value       = [helm_release.crds.name, helm_release.control_plane.name]
}

terraform {
  required_version = ">= 1.6"

  # Needed by the addon modules (manage_addons_in_terraform = true); `tofu init` fetches them
  # even when those modules are off. The cluster module alone needs none of them.
  required_providers {
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 3.0"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "~> 3.0"
    }
    tls = {
      source  = "hashicorp/tls"
      version = "~> 4.1"
    }
  }
}

terraform {
  # terraform_data, check blocks and strcontains(): OpenTofu 1.6 / Terraform 1.5 and newer.
  required_version = ">= 1.6"

  # No required_providers: the module uses only the builtin provider (terraform_data with
  # local-exec provisioners), so `tofu init` needs no registry and works offline.
}

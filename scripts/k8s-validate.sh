#!/usr/bin/env bash
# Validates every Kubernetes manifest of deploy/kubernetes offline: renders the Kustomize base and
# overlays, reads local/vodcloud.yaml (podman play kube) and secret.example.yaml, and checks each object
# against the Kubernetes schemas, for unknown fields, and with vodcloud's rules. Exit 1 on any problem.
#   scripts/k8s-validate.sh                          # deploy/kubernetes
#   scripts/k8s-validate.sh --root DIR               # another copy of that tree
#   scripts/k8s-validate.sh --print overlays/production   # print a target as rendered here
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx scripts/k8s-validate.ts "$@"

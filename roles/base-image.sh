#!/usr/bin/env bash
# Build a local Debian base image for maillab's roles when the public Python image
# cannot be pulled (no container registry reachable). Needs root and debootstrap.
# Usage: roles/base-image.sh [IMAGE_NAME]   (default maillab-base:bookworm)
set -euo pipefail
image="${1:-maillab-base:bookworm}"
if [ "$(id -u)" != 0 ]; then
    echo "base-image.sh: debootstrap needs root" >&2; exit 1
fi
command -v debootstrap >/dev/null || { echo "base-image.sh: install debootstrap first" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
packages=$(grep -v '^#' "$(dirname "$0")/image-packages.txt" | paste -sd, -)
debootstrap --variant=minbase \
    --include="python3,python3-venv,ca-certificates,procps,$packages" \
    bookworm "$root" >&2
tar -C "$root" -c . | docker import - "$image" >&2
echo "$image"

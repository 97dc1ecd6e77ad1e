#!/usr/bin/env bash
# rsync for the workspace-sync tests and the P6 bench, idempotent: installs Debian's rsync as root when missing.
set -euo pipefail
command -v rsync >/dev/null && exit 0
if [ "$(id -u)" != 0 ]; then echo "[gpudev] rsync is not installed (apt-get install -y rsync, as root)" >&2; exit 1; fi
echo "[gpudev] installing rsync" >&2
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Use-Pty=0 rsync >/tmp/gpudev-apt-rsync.log 2>&1 || { tail -30 /tmp/gpudev-apt-rsync.log >&2; exit 1; }
command -v rsync >/dev/null

#!/usr/bin/env bash
# Debian's python3-torch (1.13, CPU build) for the shim's real-torch tier, idempotent: installs it as root
# when /usr/bin/python3 cannot import torch.
set -euo pipefail
/usr/bin/python3 -c 'import torch' >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != 0 ]; then echo "[gpudev] python3-torch is not installed (apt-get install -y python3-torch, as root)" >&2; exit 1; fi
echo "[gpudev] installing python3-torch (a few minutes)" >&2
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Use-Pty=0 python3-torch >/tmp/gpudev-apt-torch.log 2>&1 \
  || { tail -30 /tmp/gpudev-apt-torch.log >&2; echo "[gpudev] apt-get install python3-torch failed (all of it in /tmp/gpudev-apt-torch.log)" >&2; exit 1; }
/usr/bin/python3 -c 'import torch' || { echo "[gpudev] python3-torch installed but /usr/bin/python3 cannot import torch" >&2; exit 1; }

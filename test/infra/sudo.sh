#!/usr/bin/env bash
# sudo for the tests of sessions applied with sudo, idempotent: installs Debian's sudo as root when missing.
set -euo pipefail
command -v sudo >/dev/null && exit 0
if [ "$(id -u)" != 0 ]; then echo "[gpudev] sudo is not installed (apt-get install -y sudo, as root)" >&2; exit 1; fi
echo "[gpudev] installing sudo" >&2
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Use-Pty=0 sudo >/tmp/gpudev-apt-sudo.log 2>&1 || { tail -30 /tmp/gpudev-apt-sudo.log >&2; exit 1; }

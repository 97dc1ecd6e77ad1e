#!/usr/bin/env bash
# A real Docker Engine for the integration and e2e tests, idempotent: installs docker.io as root when
# missing, starts dockerd on its own socket (no iptables, no bridge, vfs storage: nothing on the machine
# changes), and imports the test image `gpudev-test/empty:1` from an empty tar (no registry is reachable;
# tests bind-mount the host's /usr into it). Prints KEY=VALUE lines. `dockerd.sh stop` stops it.
set -euo pipefail
DIR=${GPUDEV_DOCKERD_DIR:-/tmp/gpudev-dockerd}
SOCKET=$DIR/docker.sock
IMAGE=gpudev-test/empty:1
say() { echo "[gpudev] $*" >&2; }

if [ "${1:-}" = stop ]; then
  if [ -f "$DIR/dockerd.pid" ]; then
    pid=$(cat "$DIR/dockerd.pid"); kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$DIR/dockerd.pid"
  fi
  exit 0
fi
if ! command -v dockerd >/dev/null; then
  if [ "$(id -u)" != 0 ]; then say "Docker Engine is not installed (sudo apt-get install -y docker.io)"; exit 1; fi
  say "installing docker.io"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Use-Pty=0 docker.io >/tmp/gpudev-apt-docker.log 2>&1 \
    || { tail -30 /tmp/gpudev-apt-docker.log >&2; exit 1; }
fi
mkdir -p "$DIR"
export DOCKER_HOST=unix://$SOCKET
if ! { [ -f "$DIR/dockerd.pid" ] && kill -0 "$(cat "$DIR/dockerd.pid")" 2>/dev/null; }; then
  rm -f "$SOCKET"
  dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs --data-root "$DIR/data" \
    --exec-root "$DIR/exec" --pidfile "$DIR/dockerd.pid" --host "unix://$SOCKET" >"$DIR/log" 2>&1 &
  for _ in $(seq 150); do docker version >/dev/null 2>&1 && break; sleep 0.2; done
  docker version >/dev/null 2>&1 || { tail -20 "$DIR/log" >&2; say "dockerd did not start"; exit 1; }
fi
if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  empty=$(mktemp -d) && tar -C "$empty" -cf "$DIR/empty.tar" . && rmdir "$empty"
  docker import "$DIR/empty.tar" "$IMAGE" >/dev/null
fi
echo "DOCKER_SOCKET=$SOCKET"
echo "DOCKER_IMAGE=$IMAGE"

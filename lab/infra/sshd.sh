#!/usr/bin/env bash
# A real OpenSSH server on loopback for the integration tests, idempotent: installs openssh-server as
# root when missing, makes host and client keys, starts sshd with an absolute config path (a relative
# one breaks key exchange), and prints KEY=VALUE lines for the tests. `sshd.sh stop` stops it.
# GPUDEV_SSHD_DIR and GPUDEV_SSHD_PORT start another one beside it (a ProxyJump host, the bench's);
# GPUDEV_SSHD_FAKE_BIN puts another fake nvidia-smi first on its PATH; GPUDEV_SSHD_AUTHORIZE names one
# more public key to accept (a compute node's sshd accepting the login node's user key);
# GPUDEV_SSHD_GPU_STATE keeps the fake GPUs' settings in that folder (the lab's). Without root it runs
# as the user, for the user only.
set -euo pipefail
DIR=${GPUDEV_SSHD_DIR:-/tmp/gpudev-sshd}
PORT=${GPUDEV_SSHD_PORT:-2222}
LOG_LEVEL=${GPUDEV_SSHD_LOG_LEVEL:-INFO}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
FAKE_BIN=${GPUDEV_SSHD_FAKE_BIN:-$REPO/lab/fake-gpu/bin}
say() { echo "[gpudev] $*" >&2; }

# Its connections too (children of this sshd only), as when a host goes down.
stop() {
  if [ -f "$DIR/sshd.pid" ]; then
    pid=$(cat "$DIR/sshd.pid"); pkill -P "$pid" 2>/dev/null || true; kill "$pid" 2>/dev/null || true; rm -f "$DIR/sshd.pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
}
if [ "${1:-}" = stop ]; then stop; exit 0; fi
if [ ! -x /usr/sbin/sshd ]; then
  if [ "$(id -u)" != 0 ]; then say "openssh-server is not installed (sudo apt-get install -y openssh-server)"; exit 1; fi
  say "installing openssh-server"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Use-Pty=0 openssh-server >/tmp/gpudev-apt-sshd.log 2>&1 \
    || { tail -30 /tmp/gpudev-apt-sshd.log >&2; exit 1; }
fi
mkdir -p "$DIR"
if [ "$(id -u)" = 0 ]; then mkdir -p /run/sshd; fi
[ -f "$DIR/host_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$DIR/host_key"
[ -f "$DIR/client_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$DIR/client_key"
[ -f "$DIR/client_key_locked" ] || ssh-keygen -q -t ed25519 -N gpudev-test-passphrase -f "$DIR/client_key_locked"
cat "$DIR/client_key.pub" "$DIR/client_key_locked.pub" ${GPUDEV_SSHD_AUTHORIZE:+"$GPUDEV_SSHD_AUTHORIZE"} > "$DIR/authorized_keys" && chmod 644 "$DIR/authorized_keys"
cat > "$DIR/sshd_config" <<CONFIG
Port $PORT
ListenAddress 127.0.0.1
HostKey $DIR/host_key
AuthorizedKeysFile $DIR/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
PidFile $DIR/sshd.pid
UsePAM no
LogLevel $LOG_LEVEL
MaxStartups 100
AcceptEnv GPUDEV_FAKE_SMI_SCENARIO GPUDEV_FAKE_GPU_STATE GPUDEV_FAKE_GPU_HOST
SetEnv PATH=$FAKE_BIN:/usr/local/bin:/usr/bin:/bin GPUDEV_FAKE_SMI_SCENARIO_FILE=$DIR/scenario${GPUDEV_SSHD_GPU_STATE:+ GPUDEV_FAKE_GPU_STATE=$GPUDEV_SSHD_GPU_STATE}
CONFIG
[ -f "$DIR/scenario" ] || echo default-h100-x8-570.133.20 > "$DIR/scenario"
# A running sshd with another configuration (another checkout's fake GPU, say) starts again with this one.
sha1sum -c --status "$DIR/sshd_config.sha" 2>/dev/null || stop
sha1sum "$DIR/sshd_config" > "$DIR/sshd_config.sha"
if ! { [ -f "$DIR/sshd.pid" ] && kill -0 "$(cat "$DIR/sshd.pid")" 2>/dev/null; }; then
  /usr/sbin/sshd -f "$DIR/sshd_config" -E "$DIR/log"
  for _ in $(seq 50); do [ -f "$DIR/sshd.pid" ] && break; sleep 0.1; done
fi
echo "SSHD_DIR=$DIR"
echo "SSHD_PORT=$PORT"
echo "SSHD_USER=$(id -un)"

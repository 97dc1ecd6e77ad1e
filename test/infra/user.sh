#!/usr/bin/env bash
# A user who is not root, for the tests of what runs without root (process sessions): made once when
# missing (needs root), with a home folder. Prints KEY=VALUE lines.
# GPUDEV_TEST_USER_SUDO=1 also lets that user run anything with `sudo -n` (no password), keeping PATH
# and the fake GPU's variables (its nvidia-smi and state): a sudoers drop-in, written when it differs.
set -euo pipefail
NAME=${GPUDEV_TEST_USER:-gpudev-user}
if ! id "$NAME" >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then echo "[gpudev] the test user $NAME is missing and making it needs root" >&2; exit 1; fi
  useradd --create-home --shell /bin/bash "$NAME"
fi
# Without PAM, sshd refuses a locked account ("!" in shadow): "*" is no password, and not locked.
if [ "$(id -u)" = 0 ] && [ "$(getent shadow "$NAME" | cut -d: -f2)" != '*' ]; then usermod -p '*' "$NAME"; fi
if [ "${GPUDEV_TEST_USER_SUDO:-}" = 1 ]; then
  bash "$(dirname "$0")/sudo.sh"
  file=/etc/sudoers.d/gpudev-test-$NAME
  want="Defaults:$NAME !secure_path, env_keep += \"PATH GPUDEV_FAKE_SMI_SCENARIO GPUDEV_FAKE_SMI_SCENARIO_FILE GPUDEV_FAKE_GPU_STATE GPUDEV_FAKE_GPU_HOST\"
$NAME ALL=(ALL) NOPASSWD: ALL"
  if [ "$(cat "$file" 2>/dev/null || true)" != "$want" ]; then
    if [ "$(id -u)" != 0 ]; then echo "[gpudev] sudo for the test user $NAME needs root to set up ($file)" >&2; exit 1; fi
    printf '%s\n' "$want" > "$file.new"
    chmod 0440 "$file.new"
    visudo -cqf "$file.new" && mv -f "$file.new" "$file"
  fi
fi
echo "TEST_USER=$NAME"
echo "TEST_HOME=$(getent passwd "$NAME" | cut -d: -f6)"

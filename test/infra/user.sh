#!/usr/bin/env bash
# A user who is not root, for the tests of what runs without root (process sessions): made once when
# missing (needs root), with a home folder. Prints KEY=VALUE lines.
set -euo pipefail
NAME=${GPUDEV_TEST_USER:-gpudev-user}
if ! id "$NAME" >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then echo "[gpudev] the test user $NAME is missing and making it needs root" >&2; exit 1; fi
  useradd --create-home --shell /bin/bash "$NAME"
fi
# Without PAM, sshd refuses a locked account ("!" in shadow): "*" is no password, and not locked.
if [ "$(id -u)" = 0 ] && [ "$(getent shadow "$NAME" | cut -d: -f2)" != '*' ]; then usermod -p '*' "$NAME"; fi
echo "TEST_USER=$NAME"
echo "TEST_HOME=$(getent passwd "$NAME" | cut -d: -f6)"

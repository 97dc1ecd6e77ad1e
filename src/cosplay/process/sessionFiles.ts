// A process session's files on the host and the scripts that make and remove them: the shim, an env
// file, and an sshd of the user's own on loopback (a host key made for the session, the user's key
// authorised in the session folder) whose every session carries the disguise. Sent on stdin to `sh -s`,
// so any login shell (tcsh, fish) runs them; every value in them is quoted here, never read back.
import { quoteArg } from '../../hosts/shellQuote';
import { SESSION_NAME } from '../changes';

/** The session folder: `<journal dir>/sessions/<session>`, so the journal folder's 0700 checks cover it. */
export function sessionFolder(journalDir: string, session: string): string {
  if (!SESSION_NAME.test(session)) throw new Error(`not a session name: ${session}`);
  return `${journalDir}/sessions/${session}`;
}

/** Whether a folder read back from a journal is one of ours: directly under `<journal dir>/sessions`, named like a session. */
export function sessionFolderOk(folder: string, journalDir: string): boolean {
  const name = folder.startsWith(`${journalDir}/sessions/`) ? folder.slice(journalDir.length + 10) : '';
  return SESSION_NAME.test(name) && !name.includes('..');
}

const SAFE_VALUE = /^[^\n\r"'\\$`]{0,4000}$/;
const NAME = /^[A-Z_][A-Z0-9_]{0,100}$/;

/** The variables as `export NAME='value'` lines; names and values that could break out are refused. */
function exports(env: Readonly<Record<string, string>>): string[] {
  return Object.entries(env).map(([name, value]) => {
    if (!NAME.test(name) || !SAFE_VALUE.test(value)) throw new Error(`not a session variable: ${name}`);
    return `export ${name}=${quoteArg(value)}`;
  });
}

export interface SessionFilesRequest {
  readonly folder: string;
  /** The disguise: the plan's GPUDEV_* (and MPS) variables, CUDA_VISIBLE_DEVICES. */
  readonly env: Readonly<Record<string, string>>;
  /** Public keys (OpenSSH one-line form) let into the session sshd. */
  readonly authorizedKeys: readonly string[];
  /** The shim as a tar archive with `shim/` at its root. */
  readonly shimTar: Buffer;
  /** sshd's path on the host; found on PATH, then in /usr/sbin, when not given. */
  readonly sshd?: string;
  /**
   * Inside a Slurm job: sshd listens on every interface (reached from the login node, like the job sshd
   * of attach: job-sshd) and is not started by the script but as a step of the job (`sshdArgv`), so it
   * ends with the job.
   */
  readonly inJob?: boolean;
}

/**
 * The env file every session sources (the ForceCommand wrapper, and BASH_ENV for `bash -l…`, run after
 * /etc/profile has reset PATH): the shim first on PATH, the folder of the real nvidia-smi the session
 * started with kept on it, the shim's sitecustomize on PYTHONPATH.
 */
export function envFile(folder: string, env: Readonly<Record<string, string>>, realSmiDir: string): string {
  if (!/^[\w@./-]*$/.test(realSmiDir)) throw new Error(`not a folder: ${realSmiDir}`);
  const shimBin = `${folder}/shim/bin`;
  return [
    '# gpudev process session: sourced by every shell of the session.',
    ...exports({ ...env, BASH_ENV: `${folder}/env.sh` }),
    `case ":$PATH:" in *:${quoteArg(shimBin)}:*) ;; *) PATH=${quoteArg(shimBin)}:$PATH ;; esac`,
    `gpudev_smi_dir='${realSmiDir}'`,
    'if [ -n "$gpudev_smi_dir" ]; then case ":$PATH:" in *":$gpudev_smi_dir:"*) ;; *) PATH=$PATH:$gpudev_smi_dir ;; esac; fi',
    `case ":\${PYTHONPATH:-}:" in *:${quoteArg(`${folder}/shim`)}:*) ;; *) PYTHONPATH=${quoteArg(`${folder}/shim`)}\${PYTHONPATH:+:$PYTHONPATH} ;; esac`,
    'export PATH PYTHONPATH',
    '',
  ].join('\n');
}

/**
 * The ForceCommand of the session sshd: the disguise, then the command as the client sent it (what
 * Remote-SSH's server install and `ssh alias cmd` send) in the user's shell; with no command, bash
 * reads the login files itself and then the env file, so /etc/profile cannot take the shim off PATH.
 */
export function enterScript(folder: string): string {
  const env = quoteArg(`${folder}/env.sh`);
  return [
    '#!/bin/sh',
    `. ${env}`,
    'shell=${SHELL:-/bin/sh}',
    'if [ -n "${SSH_ORIGINAL_COMMAND:-}" ]; then exec "$shell" -c "$SSH_ORIGINAL_COMMAND"; fi',
    `case "$shell" in */bash) exec "$shell" --noprofile --rcfile ${quoteArg(`${folder}/login.bashrc`)} -i ;; esac`,
    'exec "$shell" -l',
    '',
  ].join('\n');
}

/** What an interactive bash of the session reads: the login files as a login shell would, then the env file. */
export function loginBashrc(folder: string): string {
  return [
    '[ -r /etc/profile ] && . /etc/profile',
    'for f in "$HOME/.bash_profile" "$HOME/.bash_login" "$HOME/.profile"; do [ -r "$f" ] && { . "$f"; break; }; done',
    `. ${quoteArg(`${folder}/env.sh`)}`,
    '',
  ].join('\n');
}

/** The session sshd's configuration: loopback only, keys only, the session's own host key, every session through `enter`. */
export function sshdConfig(folder: string, port: string, anyInterface = false): string {
  return [
    `Port ${port}`,
    ...(anyInterface ? [] : ['ListenAddress 127.0.0.1']),
    `HostKey ${folder}/host_key`,
    `PidFile ${folder}/sshd.pid`,
    `AuthorizedKeysFile ${folder}/authorized_keys`,
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'PrintLastLog no',
    'PrintMotd no',
    `ForceCommand ${folder}/enter`,
    '',
  ].join('\n');
}

/** A here-document that writes `text` to `file` (mode 600 under the script's umask), never expanded. */
function writeFile(file: string, text: string, executable = false): string[] {
  const marker = 'GPUDEV_END_OF_FILE';
  if (text.includes(marker)) throw new Error('file text contains the here-document marker');
  return [
    `cat > ${quoteArg(file)} <<'${marker}'`,
    text.replace(/\n$/, ''),
    marker,
    ...(executable ? [`chmod 700 ${quoteArg(file)}`] : []),
  ];
}

/**
 * Makes the session folder (and the sessions folder above it) and starts its sshd (not `inJob`).
 * Prints `port=N`, `pid=N` (once started) and `hostkey=<type> <key>`. The port is a free one the
 * kernel hands out; sshd starting is waited for.
 */
export function startScript(request: SessionFilesRequest): string {
  const { folder } = request;
  const f = (name: string) => `${folder}/${name}`;
  for (const key of request.authorizedKeys)
    if (!/^(ssh-|ecdsa-|sk-)[\w@.-]+ [A-Za-z0-9+/=]+( [^\n'"\\$`]*)?$/.test(key.trim()))
      throw new Error('not an OpenSSH public key');
  return [
    'set -eu',
    'umask 077',
    `d=${quoteArg(folder)}`,
    // The folder is journalled before this runs and made here once (no -p): a clean-up that removed it
    // while this script still ran (its client killed) makes the rest fail instead of coming back.
    'mkdir -p -m 0700 -- "${d%/*}"',
    'mkdir -m 0700 -- "$d"',
    'cd "$d"',
    `printf '%s' ${quoteArg(request.shimTar.toString('base64'))} | base64 -d | tar -x -f - -C "$d"`,
    'smi=$(command -v nvidia-smi || true)',
    // Kept on PATH after login files reset it; a folder name sed or the shell could misread is dropped.
    'smidir=${smi%/nvidia-smi}; case "$smidir" in *[!A-Za-z0-9_./-]*) smidir="" ;; esac',
    ...writeFile(f('authorized_keys'), `${request.authorizedKeys.map((k) => k.trim()).join('\n')}\n`),
    ...writeFile(f('enter'), enterScript(folder), true),
    ...writeFile(f('login.bashrc'), loginBashrc(folder)),
    ...writeFile(f('env.in'), envFile(folder, request.env, '@SMIDIR@')),
    `sed "s|@SMIDIR@|$smidir|g" "$d/env.in" > "$d/env.sh" && rm -f "$d/env.in"`,
    'ssh-keygen -q -t ed25519 -N "" -f "$d/host_key" </dev/null >/dev/null',
    `port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("${request.inJob ? '' : '127.0.0.1'}", 0)); print(s.getsockname()[1])')`,
    ...writeFile(f('sshd_config'), sshdConfig(folder, '@PORT@', request.inJob)),
    'sed -i "s|@PORT@|$port|" "$d/sshd_config"',
    ...(request.inJob
      ? []
      : [
          `sshd=${request.sshd ? quoteArg(request.sshd) : '$(command -v sshd || echo /usr/sbin/sshd)'}`,
          '"$sshd" -f "$d/sshd_config" -E "$d/sshd.log"',
          ...waitForSshd(),
          'echo "pid=$(cat "$d/sshd.pid")"',
        ]),
    'echo "port=$port"',
    'echo "hostkey=$(cut -d" " -f1,2 "$d/host_key.pub")"',
    '',
  ].join('\n');
}

function waitForSshd(): string[] {
  return [
    'i=0; while [ ! -s "$d/sshd.pid" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done',
    '[ -s "$d/sshd.pid" ] || { echo "the session sshd did not start:" >&2; tail -5 "$d/sshd.log" >&2; exit 1; }',
  ];
}

/** The session sshd in the foreground, for a job step of its own (`inJob`). */
export function sshdArgv(folder: string): string[] {
  return [
    'sh',
    '-c',
    'exec "$(command -v sshd || echo /usr/sbin/sshd)" -D -f "$1/sshd_config" -E "$1/sshd.log"',
    'sshd',
    folder,
  ];
}

/** Waits for a job-step sshd's pid file, then prints `pid=N`. */
export function waitScript(folder: string): string {
  return ['set -eu', `d=${quoteArg(folder)}`, ...waitForSshd(), 'echo "pid=$(cat "$d/sshd.pid")"', ''].join('\n');
}

/**
 * Stops the session sshd (and the connections it serves) and removes the folder. The pid is the
 * folder's own pid file, and is signalled only while that process is an sshd run with this folder's
 * config: a recycled pid is left alone.
 */
export function stopScript(folder: string): string {
  return [
    'set -u',
    `d=${quoteArg(folder)}`,
    'pid=$(cat "$d/sshd.pid" 2>/dev/null || true)',
    'case "$pid" in ""|*[!0-9]*) pid="" ;; esac',
    'if [ -n "$pid" ] && tr "\\0" " " < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$d/sshd_config"; then',
    '  pkill -P "$pid" 2>/dev/null || true',
    '  kill "$pid" 2>/dev/null || true',
    '  i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done',
    'fi',
    'rm -rf -- "$d"',
    '',
  ].join('\n');
}

const HOST_KEY = /^(ssh-ed25519|ecdsa-[\w-]+|ssh-rsa) [A-Za-z0-9+/=]+$/;
/** A public host key as `<type> <base64>`: what known_hosts may pin. */
export const isHostKey = (text: string) => HOST_KEY.test(text);

export interface StartedSshd {
  readonly port: number;
  readonly pid: number;
  /** `<type> <base64>` as sshd's public host key file has it. */
  readonly hostKey: string;
}

/** The start script's output, validated: a port, a pid and a host key, or a sentence. */
export function parseStarted(stdout: string): StartedSshd | string {
  const value = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(stdout)?.[1]?.trim() ?? '';
  const port = Number(value('port'));
  const pid = Number(value('pid'));
  const hostKey = value('hostkey');
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    return `no port in its output (${stdout.trim().slice(0, 200)})`;
  if (!Number.isInteger(pid) || pid < 2) return 'no pid in its output';
  if (!isHostKey(hostKey)) return 'no host key in its output';
  return { port, pid, hostKey };
}

/** Prints each folder whose sshd still runs (its pid file's process is an sshd with that folder's config). */
export function aliveScript(folders: readonly string[]): string {
  return [
    ...folders.map((folder) => {
      const d = quoteArg(folder);
      return `pid=$(cat ${d}/sshd.pid 2>/dev/null || true); case "$pid" in ""|*[!0-9]*) ;; *) tr "\\0" " " < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- ${quoteArg(`${folder}/sshd_config`)} && echo ${d} ;; esac`;
    }),
    'exit 0',
    '',
  ].join('\n');
}

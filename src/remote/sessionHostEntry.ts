// The Host entries that reach a process session's sshd with OpenSSH alone (and so with Remote-SSH):
// `gpudev-<host>-<session>` on the host's loopback, jumping through the host's own entry (as `ssh -G`
// resolves the host the user configured), its host key pinned under a HostKeyAlias in our known_hosts.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { GpuDevError } from '../core/errors';
import type { Runner } from '../hosts/runner';
import { resolveSshTarget, type SshTarget } from '../hosts/sshConfig';
import { isHostKey } from '../cosplay/process/sessionFiles';
import { hostBlock, removeBlock, upsertBlock } from './sshConfigFile';

const safe = (text: string) => text.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '') || 'host';

/** `gpudev-<host>-<session without its gpudev- prefix>`. */
export function sessionAlias(hostLabel: string, session: string): string {
  return `gpudev-${safe(hostLabel)}-${session.replace(/^gpudev-/, '')}`;
}

type Options = (readonly [string, string])[];

/**
 * Connection sharing (OpenSSH's ControlMaster, which Windows' OpenSSH lacks): a session's later
 * connections ride its first one, and its jump through the host rides one connection to the host, each
 * kept 10 minutes after its last use. The sockets live beside our config (`cm-%C`: a hash, short enough).
 */
export function sharing(configDir: string, platform: NodeJS.Platform = process.platform): Options {
  if (platform === 'win32') return [];
  return [
    ['ControlMaster', 'auto'],
    ['ControlPath', `${configDir}/cm-%C`],
    ['ControlPersist', '10m'],
  ];
}

/**
 * Makes the session's shared connections (and its jump's) before the window or terminal opens, so their
 * first connection rides them; where nothing is shared, or it fails, they connect as they would anyway.
 */
export async function warmSessionConnection(alias: string, configFile: string, local: Runner): Promise<void> {
  if (!sharing(path.dirname(configFile)).length) return;
  await local.run(['ssh', '-F', configFile, '-o', 'BatchMode=yes', alias, 'true'], { timeoutMs: 20_000 });
}

/** The entry for the host itself (`<alias>-host`) that the session's entry jumps through; null for this machine. */
export function hostJumpBlock(
  alias: string,
  host: SshTarget,
  identity: readonly string[],
  knownHosts: readonly string[],
  shared: Options = [],
): string {
  return hostBlock(`${alias}-host`, [
    ['HostName', host.host],
    ['Port', String(host.port)],
    ['User', host.user],
    ...(identity.length ? [['IdentityFile', identity] as const] : []),
    ...(host.proxyJump ? [['ProxyJump', host.proxyJump] as const] : []),
    ['UserKnownHostsFile', knownHosts],
    ...shared,
  ]);
}

export interface SessionEntryRequest {
  readonly alias: string;
  readonly port: number;
  readonly user: string;
  readonly identity: readonly string[];
  /** Our known_hosts file, where the session's host key is pinned under the alias. */
  readonly knownHostsFile: string;
  /** Through the host's entry; absent when the session runs on this machine. */
  readonly jump?: string;
  /** Where the session sshd listens as seen from the jump host: its loopback, or a job's node. */
  readonly hostName?: string;
  /** Connection sharing options (`sharing`). */
  readonly shared?: Options;
}

export function sessionBlock(request: SessionEntryRequest): string {
  return hostBlock(request.alias, [
    ['HostName', request.hostName ?? '127.0.0.1'],
    ['Port', String(request.port)],
    ['User', request.user],
    ...(request.identity.length ? [['IdentityFile', request.identity] as const] : []),
    ...(request.jump ? [['ProxyJump', request.jump] as const] : []),
    ['HostKeyAlias', request.alias],
    ['UserKnownHostsFile', request.knownHostsFile],
    ['StrictHostKeyChecking', 'yes'],
    ...(request.shared ?? []),
  ]);
}

/** The known_hosts line that pins a session's host key under its alias. */
export function pinnedSessionKey(alias: string, hostKey: string): string {
  if (!isHostKey(hostKey)) throw new Error('not a host key');
  return `${alias} ${hostKey}`;
}

/** known_hosts text without the lines pinned for `alias` (a stopped session's). */
export function withoutPinned(knownHosts: string, alias: string): string {
  return knownHosts
    .split('\n')
    .filter((line) => line.split(' ')[0] !== alias)
    .join('\n');
}

export interface SessionEntryFiles {
  /** Our ssh config file and known_hosts (defaults in ~/.ssh/gpudev/). */
  readonly configFile: string;
  readonly knownHostsFile: string;
  /** The key the session sshd lets in (made once: `sessionKeyFile`). */
  readonly identity: string;
}

/** The key pair process sessions authorise: ours, made once beside our ssh config, so no user key is guessed at. */
export async function sessionKey(
  dir: string,
  local: Runner,
): Promise<{ file: string; publicKey: string } | GpuDevError> {
  const file = path.join(dir, 'session_ed25519');
  if (!(await fs.stat(`${file}.pub`).catch(() => undefined))) {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const made = await local.run([
      'ssh-keygen',
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-C',
      'gpudev session key',
      '-f',
      file,
    ]);
    if (made.exitCode !== 0) return { message: `could not make a session key: ${made.stderr.trim()}` };
  }
  return { file, publicKey: (await fs.readFile(`${file}.pub`, 'utf8')).trim() };
}

/**
 * Writes the session's entry (and, for an SSH host, the host's own entry it jumps through, as `ssh -G`
 * resolves it) into our config, and pins its host key. `host` is null for this machine.
 */
export async function writeSessionEntry(
  alias: string,
  session: { readonly port: number; readonly hostKey: string; readonly node?: string },
  host: SshTarget | null,
  files: SessionEntryFiles,
): Promise<void> {
  // Only the keys that exist: OpenSSH warns about every IdentityFile it cannot find.
  const identity = host ? await existing(host.identityFiles) : [];
  const knownHosts = [path.join(os.homedir(), '.ssh', 'known_hosts'), files.knownHostsFile];
  const shared = sharing(path.dirname(files.configFile));
  const jumpBlock = host ? hostJumpBlock(alias, host, identity, knownHosts, shared) : '';
  const block = sessionBlock({
    shared,
    alias,
    port: session.port,
    user: host?.user ?? os.userInfo().username,
    identity: [files.identity],
    knownHostsFile: files.knownHostsFile,
    ...(host && { jump: `${alias}-host` }),
    ...(session.node && { hostName: session.node }),
  });
  await fs.mkdir(path.dirname(files.configFile), { recursive: true, mode: 0o700 });
  let config = await fs.readFile(files.configFile, 'utf8').catch(() => '');
  if (jumpBlock) config = upsertBlock(config, `${alias}-host`, jumpBlock);
  await fs.writeFile(files.configFile, upsertBlock(config, alias, block), { mode: 0o600 });
  const known = withoutPinned(await fs.readFile(files.knownHostsFile, 'utf8').catch(() => ''), alias);
  await fs.writeFile(
    files.knownHostsFile,
    `${known}${known && !known.endsWith('\n') ? '\n' : ''}${pinnedSessionKey(alias, session.hostKey)}\n`,
    {
      mode: 0o600,
    },
  );
}

async function existing(files: readonly string[]): Promise<string[]> {
  const found = await Promise.all(
    files.map((f) =>
      fs.access(f).then(
        () => f,
        () => undefined,
      ),
    ),
  );
  return found.filter((f): f is string => f !== undefined);
}

/** Removes a stopped session's entries and its pinned key. */
export async function removeSessionEntry(alias: string, files: Omit<SessionEntryFiles, 'identity'>): Promise<void> {
  const config = await fs.readFile(files.configFile, 'utf8').catch(() => undefined);
  if (config !== undefined)
    await fs.writeFile(files.configFile, removeBlock(removeBlock(config, alias), `${alias}-host`), { mode: 0o600 });
  const known = await fs.readFile(files.knownHostsFile, 'utf8').catch(() => undefined);
  if (known !== undefined) await fs.writeFile(files.knownHostsFile, withoutPinned(known, alias), { mode: 0o600 });
}

export interface PreparedSessionEntry {
  readonly alias: string;
  readonly configFile: string;
}

/**
 * A process session's Host entry ready to use: our session key made once, the host's own entry resolved
 * by `ssh -G` (none for this machine), the session's host key read from its folder when not given.
 */
export async function prepareSessionEntry(request: {
  readonly hostLabel: string;
  /** Null for this machine. */
  readonly hostSpec: string | null;
  readonly sessionName: string;
  readonly port: number;
  readonly folder: string;
  readonly hostKey?: string;
  /** A job's node, when the session runs in a Slurm job reached through the login node `hostSpec`. */
  readonly node?: string;
  readonly hostRunner: Runner;
  readonly local: Runner;
  readonly files: Omit<SessionEntryFiles, 'identity'>;
}): Promise<PreparedSessionEntry | GpuDevError> {
  const hostKey =
    request.hostKey ??
    (await request.hostRunner.run(['cut', '-d', ' ', '-f1,2', '--', `${request.folder}/host_key.pub`])).stdout.trim();
  if (!isHostKey(hostKey)) return { message: `the session's host key cannot be read (${request.folder}/host_key.pub)` };
  const key = await sessionKey(path.dirname(request.files.configFile), request.local);
  if ('message' in key) return key;
  const target = request.hostSpec === null ? null : await resolveSshTarget(request.hostSpec, request.local);
  if (target && 'message' in target) return target;
  const alias = sessionAlias(request.hostLabel, request.sessionName);
  const session = { port: request.port, hostKey, ...(request.node && { node: request.node }) };
  await writeSessionEntry(alias, session, target, { ...request.files, identity: key.file });
  return { alias, configFile: request.files.configFile };
}

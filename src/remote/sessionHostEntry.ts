// The Host entries that reach a process session's sshd with OpenSSH alone (and so with Remote-SSH):
// `gpudev-<host>-<session>` on the host's loopback, jumping through the host's own entry (as `ssh -G`
// resolves the host the user configured), its host key pinned under a HostKeyAlias in our known_hosts.
import type { SshTarget } from '../hosts/sshConfig';
import { hostBlock } from './sshConfigFile';

const safe = (text: string) => text.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '') || 'host';

/** `gpudev-<host>-<session without its gpudev- prefix>`. */
export function sessionAlias(hostLabel: string, session: string): string {
  return `gpudev-${safe(hostLabel)}-${session.replace(/^gpudev-/, '')}`;
}

/** The entry for the host itself (`<alias>-host`) that the session's entry jumps through; null for this machine. */
export function hostJumpBlock(
  alias: string,
  host: SshTarget,
  identity: readonly string[],
  knownHosts: readonly string[],
): string {
  return hostBlock(`${alias}-host`, [
    ['HostName', host.host],
    ['Port', String(host.port)],
    ['User', host.user],
    ...(identity.length ? [['IdentityFile', identity] as const] : []),
    ...(host.proxyJump ? [['ProxyJump', host.proxyJump] as const] : []),
    ['UserKnownHostsFile', knownHosts],
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
}

export function sessionBlock(request: SessionEntryRequest): string {
  return hostBlock(request.alias, [
    ['HostName', '127.0.0.1'],
    ['Port', String(request.port)],
    ['User', request.user],
    ...(request.identity.length ? [['IdentityFile', request.identity] as const] : []),
    ...(request.jump ? [['ProxyJump', request.jump] as const] : []),
    ['HostKeyAlias', request.alias],
    ['UserKnownHostsFile', request.knownHostsFile],
    ['StrictHostKeyChecking', 'yes'],
  ]);
}

/** The known_hosts line that pins a session's host key under its alias. */
export function pinnedSessionKey(alias: string, hostKey: string): string {
  if (!/^(ssh-ed25519|ecdsa-[\w-]+|ssh-rsa) [A-Za-z0-9+/=]+$/.test(hostKey)) throw new Error('not a host key');
  return `${alias} ${hostKey}`;
}

/** known_hosts text without the lines pinned for `alias` (a stopped session's). */
export function withoutPinned(knownHosts: string, alias: string): string {
  return knownHosts
    .split('\n')
    .filter((line) => line.split(' ')[0] !== alias)
    .join('\n');
}

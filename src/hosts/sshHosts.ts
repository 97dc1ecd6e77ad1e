import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as z from 'zod/mini';
import type { GpuDevError } from '../core/errors';
import { LOCAL_HOST, type Runner } from './runner';
import { isEncryptedKey } from './privateKey';
import { resolveSshTarget } from './sshConfig';
import { SshRunner } from './sshRunner';

/** One entry of the `gpuDev.hosts` setting. */
export const HostEntrySchema = z.strictObject({
  name: z.string().check(z.minLength(1), z.maxLength(100)),
  ssh: z.string().check(z.minLength(1), z.maxLength(300)),
  sudo: z.optional(z.boolean()),
});
export type HostEntry = z.infer<typeof HostEntrySchema>;

/** The valid entries, and a sentence for each invalid one (nothing is dropped silently). */
export function parseHostEntries(value: unknown): { hosts: HostEntry[]; problems: string[] } {
  if (!Array.isArray(value)) return { hosts: [], problems: value === undefined ? [] : ['gpuDev.hosts must be a list of { name, ssh }'] };
  const hosts: HostEntry[] = [];
  const problems: string[] = [];
  value.forEach((item, i) => {
    const parsed = HostEntrySchema.safeParse(item);
    if (!parsed.success) problems.push(`gpuDev.hosts[${i}] is not { name, ssh, sudo? }: ${JSON.stringify(item)?.slice(0, 120)}`);
    else if (parsed.data.name === LOCAL_HOST) problems.push(`gpuDev.hosts[${i}]: "${LOCAL_HOST}" names the local machine; choose another name`);
    else if (hosts.some((h) => h.name === parsed.data.name)) problems.push(`gpuDev.hosts[${i}]: the name "${parsed.data.name}" is used twice`);
    else hosts.push(parsed.data);
  });
  return { hosts, problems };
}

/** Our own known_hosts: host keys the user trusted through the extension; ~/.ssh/known_hosts stays untouched. */
export function gpudevKnownHostsFile(): string {
  return path.join(os.homedir(), '.ssh', 'gpudev', 'known_hosts');
}

export async function readKnownHosts(files: readonly string[]): Promise<string[]> {
  const texts = await Promise.all(files.map((file) => fs.readFile(file, 'utf8').catch(() => '')));
  return texts.filter(Boolean);
}

export async function trustHostKey(knownHostsLine: string, file = gpudevKnownHostsFile()): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const existing = await fs.readFile(file, 'utf8').catch(() => '');
  if (!existing.split('\n').includes(knownHostsLine)) await fs.appendFile(file, `${knownHostsLine}\n`, { mode: 0o600 });
}

/** Asks the user for a key's passphrase; undefined when they decline. */
export type AskPassphrase = (keyFile: string) => Promise<string | undefined>;

/**
 * A runner for a configured host: OpenSSH's resolution of the alias, the first private key found
 * (its passphrase asked for when it is encrypted), the agent if any.
 */
export async function createSshRunner(entry: HostEntry, local: Runner, askPassphrase?: AskPassphrase): Promise<SshRunner | GpuDevError> {
  const target = await resolveSshTarget(entry.ssh, local);
  if ('message' in target) return target;
  if (target.proxyJump) return { message: `${entry.name}: ProxyJump (${target.proxyJump}) is not supported yet`, hint: 'reach the host directly for now' };
  const keys = await Promise.all(target.identityFiles.map((file) => fs.readFile(file).catch(() => undefined)));
  const found = keys.findIndex((key) => key !== undefined);
  const privateKey = found >= 0 ? keys[found] : undefined;
  const keyFile = target.identityFiles[found] ?? '';
  const agent = target.identityAgent ?? process.env.SSH_AUTH_SOCK;
  if (!privateKey && !agent) return { message: `${entry.name}: no private key found`, hint: `looked in ${target.identityFiles.join(', ')}; or start ssh-agent` };
  let passphrase: string | undefined;
  if (privateKey && isEncryptedKey(privateKey)) {
    passphrase = await askPassphrase?.(keyFile);
    if (passphrase === undefined) return { message: `${entry.name}: the key ${keyFile} needs its passphrase`, hint: 'refresh to be asked again, or add the key to ssh-agent' };
  }
  const knownHostsFiles = [path.join(os.homedir(), '.ssh', 'known_hosts'), gpudevKnownHostsFile()];
  return new SshRunner({
    label: entry.name, host: target.host, port: target.port, username: target.user, privateKey, passphrase, agent,
    knownHosts: () => readKnownHosts(knownHostsFiles),
  });
}

import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as z from 'zod/mini';
import type { GpuDevError } from '../core/errors';
import { parseNamedEntries } from '../core/namedEntries';
import { LOCAL_HOST, type Runner } from './runner';
import { isEncryptedKey } from './privateKey';
import { resolveSshTarget } from './sshConfig';
import { SshRunner, type SshHost } from './sshRunner';

/** One entry of the `gpuDev.hosts` setting. */
export const HostEntrySchema = z.strictObject({
  name: z.string().check(z.minLength(1), z.maxLength(100)),
  ssh: z.string().check(z.minLength(1), z.maxLength(300)),
  sudo: z.optional(z.boolean()),
  /** The Docker Engine's socket on that host, for cosplay sessions. */
  dockerSocket: z.optional(z.string().check(z.regex(/^\/[^\0\n]*$/), z.maxLength(300))),
  /** Its GPUs are a simulation (the demo lab's): every view of them says so. */
  simulated: z.optional(z.boolean()),
});
export type HostEntry = z.infer<typeof HostEntrySchema>;

/** What a plan, a fidelity report or a tooltip says of a host whose GPUs are a simulation. */
export const simulatedNote = (host: string) =>
  `${host} is a simulation (the demo lab): its GPUs are the project's nvidia-smi stand-in, so nothing here changes or measures a GPU.`;

/** The valid entries, and a sentence for each invalid one (nothing is dropped silently). */
export function parseHostEntries(value: unknown): { hosts: HostEntry[]; problems: string[] } {
  const { entries, problems } = parseNamedEntries(
    value,
    HostEntrySchema,
    'gpuDev.hosts',
    { short: '{ name, ssh }', full: '{ name, ssh, sudo?, dockerSocket?, simulated? }' },
    (entry) => (entry.name === LOCAL_HOST ? `"${LOCAL_HOST}" names the local machine; choose another name` : undefined),
  );
  return { hosts: entries, problems };
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

export interface SshRunnerOptions {
  readonly askPassphrase?: AskPassphrase;
  /** Instead of ~/.ssh/config (`ssh -F`). */
  readonly configFile?: string;
  /** Instead of ~/.ssh/known_hosts and our own. */
  readonly knownHostsFiles?: readonly string[];
}

/** ProxyJump chains longer than this are refused (they are loops, in practice). */
const MAX_HOPS = 8;

/**
 * A runner for a configured host: OpenSSH's resolution of the alias, the first private key found
 * (its passphrase asked for when it is encrypted), the agent if any, and every ProxyJump hop the
 * same way.
 */
export async function createSshRunner(
  entry: HostEntry,
  local: Runner,
  options: SshRunnerOptions = {},
): Promise<SshRunner | GpuDevError> {
  const knownHostsFiles = options.knownHostsFiles ?? [
    path.join(os.homedir(), '.ssh', 'known_hosts'),
    gpudevKnownHostsFile(),
  ];
  const context: HopContext = { local, options, knownHosts: () => readKnownHosts(knownHostsFiles), hops: 0 };
  const host = await sshHost(entry.ssh, entry.name, context);
  return 'message' in host ? { ...host, message: `${entry.name}: ${host.message}` } : new SshRunner(host);
}

interface HopContext {
  readonly local: Runner;
  readonly options: SshRunnerOptions;
  readonly knownHosts: () => Promise<readonly string[]>;
  hops: number;
}

/**
 * One host of a chain. `via` is the hop before it when it is a later hop of a `ProxyJump a,b` list
 * (OpenSSH then ignores the hop's own ProxyJump); otherwise its own ProxyJump is followed.
 */
async function sshHost(
  spec: string,
  label: string,
  context: HopContext,
  via?: SshHost,
): Promise<SshHost | GpuDevError> {
  if (++context.hops > MAX_HOPS)
    return { message: `more than ${MAX_HOPS} ProxyJump hops`, hint: 'check your ssh config for a ProxyJump loop' };
  const target = await resolveSshTarget(spec, context.local, context.options.configFile);
  if ('message' in target) return target;
  if (!via && target.proxyJump) {
    for (const hop of target.proxyJump.split(',')) {
      const hopSpec = hop.trim().replace(/^ssh:\/\//, '');
      const hopHost = await sshHost(hopSpec, hopSpec, context, via);
      if ('message' in hopHost) return { ...hopHost, message: `jump host ${hopSpec}: ${hopHost.message}` };
      via = hopHost;
    }
  }
  const keys = await Promise.all(target.identityFiles.map((file) => fs.readFile(file).catch(() => undefined)));
  const found = keys.findIndex((key) => key !== undefined);
  const privateKey = found >= 0 ? keys[found] : undefined;
  const keyFile = target.identityFiles[found] ?? '';
  const agent = target.identityAgent ?? process.env.SSH_AUTH_SOCK;
  if (!privateKey && !agent)
    return {
      message: 'no private key found',
      hint: `looked in ${target.identityFiles.join(', ')}; or start ssh-agent`,
    };
  let passphrase: string | undefined;
  if (privateKey && isEncryptedKey(privateKey)) {
    passphrase = await context.options.askPassphrase?.(keyFile);
    if (passphrase === undefined)
      return {
        message: `the key ${keyFile} needs its passphrase`,
        hint: 'refresh to be asked again, or add the key to ssh-agent',
      };
  }
  return {
    label,
    host: target.host,
    port: target.port,
    username: target.user,
    privateKey,
    passphrase,
    agent,
    knownHosts: context.knownHosts,
    ...(via && { via }),
  };
}

import * as os from 'node:os';
import type { GpuDevError } from '../core/errors';
import type { Runner } from './runner';

/** Where and how to reach an SSH host, as OpenSSH itself resolves it. */
export interface SshTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly identityFiles: readonly string[];
  readonly proxyJump: string | null;
  readonly identityAgent: string | null;
}

const SPEC = /^(?:([A-Za-z0-9._][A-Za-z0-9._-]*)@)?([A-Za-z0-9._][A-Za-z0-9._-]*|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/;

/** An ssh alias or user@host[:port]; anything else (spaces, quotes, options like "-oProxyCommand=…") is refused before anything runs. */
export function parseHostSpec(spec: string): { user: string | null; host: string; port: number | null } | GpuDevError {
  const match = SPEC.exec(spec.trim());
  const port = match?.[3] ? Number(match[3]) : null;
  if (!match || (port !== null && (port < 1 || port > 65535))) {
    return {
      message: `Not an SSH host: ${JSON.stringify(spec)}`,
      hint: 'use an alias from your ssh config or user@host[:port]',
    };
  }
  return { user: match[1] ?? null, host: match[2]!.replace(/^\[|\]$/g, ''), port };
}

const expandHome = (file: string) => (file.startsWith('~/') ? `${os.homedir()}${file.slice(1)}` : file);

/** Parses `ssh -G` output ("key value" lines, keys lower-case). */
export function parseSshG(text: string): SshTarget | null {
  const values = new Map<string, string[]>();
  for (const line of text.split(/\r?\n/)) {
    const [key, ...rest] = line.trim().split(/\s+/);
    if (!key || rest.length === 0) continue;
    const name = key.toLowerCase();
    values.set(name, [...(values.get(name) ?? []), rest.join(' ')]);
  }
  const host = values.get('hostname')?.[0];
  const port = Number(values.get('port')?.[0] ?? 22);
  if (!host || !Number.isInteger(port)) return null;
  const jump = values.get('proxyjump')?.[0];
  const agent = values.get('identityagent')?.[0];
  return {
    host,
    port,
    user: values.get('user')?.[0] ?? os.userInfo().username,
    identityFiles: (values.get('identityfile') ?? []).map(expandHome),
    proxyJump: jump && jump !== 'none' ? jump : null,
    identityAgent: agent && agent !== 'none' ? expandHome(agent) : null,
  };
}

/**
 * Resolves an alias or user@host[:port] with `ssh -G` when the OpenSSH client exists, else from the
 * spec alone. `configFile` replaces ~/.ssh/config, as `ssh -F` does.
 */
export async function resolveSshTarget(
  spec: string,
  local: Runner,
  configFile?: string,
): Promise<SshTarget | GpuDevError> {
  const parsed = parseHostSpec(spec);
  if ('message' in parsed) return parsed;
  const destination = parsed.user ? `${parsed.user}@${parsed.host}` : parsed.host;
  const result = await local.run([
    'ssh',
    ...(configFile ? ['-F', configFile] : []),
    '-G',
    ...(parsed.port ? ['-p', String(parsed.port)] : []),
    '--',
    destination,
  ]);
  if (result.exitCode === 0) {
    const target = parseSshG(result.stdout);
    if (target) return target;
  }
  if (!result.notFound && result.exitCode !== 0)
    return { message: `ssh -G ${destination} failed: ${result.stderr.trim().split('\n')[0] ?? ''}` };
  const home = os.homedir();
  return {
    host: parsed.host,
    port: parsed.port ?? 22,
    user: parsed.user ?? os.userInfo().username,
    identityFiles: ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((name) => `${home}/.ssh/${name}`),
    proxyJump: null,
    identityAgent: process.env.SSH_AUTH_SOCK ?? null,
  };
}

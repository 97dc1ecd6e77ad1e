import type { GpuDevError } from '../core/errors';
import type { Runner } from './runner';
import { parseHostSpec } from './sshConfig';
import { createSshRunner, parseHostEntries, type HostEntry, type SshRunnerOptions } from './sshHosts';

// Edits of the user's own gpuDev.hosts list: entries this version cannot read are kept as they are.

/** The name a typed host gets: the spec itself, without a default port (hosts on other ports stay apart). */
export function hostNameFor(spec: string): string {
  return spec.trim().replace(/:22$/, '');
}

/** Where a spec connects, for telling hosts apart: user, host and port (22 when not given). */
function targetOf(spec: string): string {
  const parsed = parseHostSpec(spec);
  if ('message' in parsed) return spec.trim();
  return `${parsed.user ?? ''}@${parsed.host.toLowerCase()}:${parsed.port ?? 22}`;
}

/** The entry of `list` that already names `name` or connects where `spec` does. */
export function duplicateOf(list: unknown, spec: string, name: string, except?: string): HostEntry | undefined {
  const target = targetOf(spec);
  return parseHostEntries(list).hosts.find(
    (entry) => entry.name !== except && (entry.name === name || targetOf(entry.ssh) === target),
  );
}

const isNamed = (raw: unknown, name: string): boolean =>
  typeof raw === 'object' && raw !== null && (raw as { name?: unknown }).name === name;

/** The list with `name`'s ssh replaced (its other fields kept), or undefined when it has no such entry. */
export function withHostChanged(list: readonly unknown[], name: string, ssh: string): unknown[] | undefined {
  if (!list.some((raw) => isNamed(raw, name))) return undefined;
  return list.map((raw) => (isNamed(raw, name) ? { ...(raw as object), ssh } : raw));
}

/** The list without `name`, or undefined when it has no such entry. */
export function withHostRemoved(list: readonly unknown[], name: string): unknown[] | undefined {
  const kept = list.filter((raw) => !isNamed(raw, name));
  return kept.length === list.length ? undefined : kept;
}

/**
 * Whether an SSH server answers for `entry` and lets us in: a host whose key is only unknown counts as
 * reached (the GPUs view asks to trust it). The reason, in a sentence, when it does not.
 */
export async function reachHost(
  entry: HostEntry,
  local: Runner,
  options: SshRunnerOptions = {},
): Promise<GpuDevError | undefined> {
  const runner = await createSshRunner(entry, local, options);
  if ('message' in runner) return runner;
  try {
    const result = await runner.run(['true'], { timeoutMs: 10_000 });
    if (result.failure && !result.untrustedHostKey) return result.failure;
    if (result.timedOut) return { message: `${entry.name} did not answer within 10 s` };
    return undefined;
  } finally {
    runner.close();
  }
}

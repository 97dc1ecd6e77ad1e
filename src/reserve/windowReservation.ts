// Which reservation a Remote-SSH window is on: its host (from the window's `ssh-remote+<host>` authority)
// is the alias Attach wrote for a job (`gpudev-<cluster>-<job>`), an alias of our ssh config whose
// HostName is a job's node, or a job's node itself.
import { jobAlias } from './attach';

/** The SSH host of a Remote-SSH authority: `ssh-remote+gpu07`, or Remote-SSH's hex JSON `{"hostName": …}`. */
export function remoteSshHost(authority: string | undefined): string | undefined {
  const match = /^ssh-remote\+(.+)$/.exec(authority ?? '');
  if (!match) return undefined;
  const host = decodeURIComponent(match[1]!);
  if (/^([0-9a-f]{2})+$/i.test(host) && host.length > 20) {
    try {
      const parsed: unknown = JSON.parse(Buffer.from(host, 'hex').toString('utf8'));
      const name = (parsed as { hostName?: unknown } | null)?.hostName;
      if (typeof name === 'string' && name) return name;
    } catch {
      // An alias that only looks like hex.
    }
  }
  return host;
}

/** Every host of a Slurm node list: "gpu[07-09,12],cpu1" → gpu07 gpu08 gpu09 gpu12 cpu1 (at most `limit`). */
export function expandNodeList(list: string, limit = 4096): string[] {
  const nodes: string[] = [];
  for (const part of list.trim().match(/[^,[]+(\[[^\]]*\])?[^,[]*/g) ?? []) {
    const match = /^([^[]*)\[([^\]]*)\](.*)$/.exec(part);
    if (!match) {
      if (part) nodes.push(part);
      continue;
    }
    const [, prefix, ranges, suffix] = match;
    for (const range of ranges!.split(',')) {
      const [from, to = from] = range.split('-') as [string, string?];
      if (!/^\d+$/.test(from) || !/^\d+$/.test(to)) continue;
      for (let n = Number(from); n <= Number(to) && nodes.length < limit; n++)
        nodes.push(`${prefix}${String(n).padStart(from.length, '0')}${suffix}`);
    }
  }
  return nodes.slice(0, limit);
}

/** Each `Host alias` of an ssh config file with its HostName (aliases without one map to themselves). */
export function configHostNames(text: string): Map<string, string> {
  const hosts = new Map<string, string>();
  let aliases: string[] = [];
  for (const line of text.split('\n')) {
    const [key, ...values] = line.trim().split(/\s+/);
    if (/^host$/i.test(key ?? '')) {
      aliases = values.filter((alias) => !/[*?!]/.test(alias));
      for (const alias of aliases) hosts.set(alias, alias);
    } else if (/^hostname$/i.test(key ?? '') && values[0]) for (const alias of aliases) hosts.set(alias, values[0]);
    else if (/^match$/i.test(key ?? '')) aliases = [];
  }
  return hosts;
}

export interface KnownJob {
  readonly cluster: string;
  readonly jobId: string;
  readonly nodes: string;
}

export interface WindowJob {
  readonly cluster: string;
  readonly jobId: string;
  /** The node the window is on, when known. */
  readonly node?: string;
  /** How it was found: Attach's alias of a job, our config's alias of its node, the node's name, or only the alias's shape. */
  readonly by: 'alias' | 'config' | 'node' | 'alias-only';
}

const ALIAS_SHAPE = /^gpudev-(.+)-(\d+(?:_\d+)?)$/;
const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
/** A host name as a node name: `gpu07.cluster.example` is node gpu07. */
const shortName = (host: string) => host.replace(/^[^@]*@/, '').split('.')[0]!;

/**
 * The running job a window's SSH host is on. `jobs`: the running reservations the watches know;
 * `config`: our ssh config's aliases and their HostNames. Without a matching job, an alias of Attach's
 * shape still names its job (the extension may run on the node itself, where no cluster is configured).
 */
export function windowJob(
  host: string | undefined,
  jobs: readonly KnownJob[],
  config: ReadonlyMap<string, string> = new Map(),
): WindowJob | undefined {
  if (!host) return undefined;
  const byAlias = jobs.find((job) => same(jobAlias(job.cluster, job.jobId), host));
  if (byAlias) return { ...byAlias, by: 'alias', node: expandNodeList(byAlias.nodes)[0] ?? byAlias.nodes };
  const onNode = (name: string) =>
    jobs.find((job) => expandNodeList(job.nodes).some((node) => same(node, name) || same(node, shortName(name))));
  const configured = [...config].find(([alias]) => same(alias, host))?.[1];
  const viaConfig = configured && !same(configured, host) ? onNode(configured) : undefined;
  if (viaConfig) return { ...viaConfig, by: 'config', node: shortName(configured!) };
  const byNode = onNode(host);
  if (byNode) return { ...byNode, by: 'node', node: shortName(host) };
  const shape = ALIAS_SHAPE.exec(host);
  if (!shape) return undefined;
  return {
    cluster: shape[1]!,
    jobId: shape[2]!,
    by: 'alias-only',
    ...(configured && !same(configured, host) && { node: shortName(configured) }),
  };
}

const markdown = (text: string) => text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');

/** The gauge tooltip's line about it (Markdown). */
export function windowJobNote(job: WindowJob): string {
  const where = job.node ? ` on ${markdown(job.node)}` : '';
  return `This Remote-SSH window is on reservation **job ${job.jobId}** of ${markdown(job.cluster)}${where}`;
}

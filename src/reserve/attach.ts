// Attaching to a reserved node: a Host entry `gpudev-<cluster>-<job>` in our own ssh config file that
// jumps through the login node (ProxyJump), with the node's host key pinned in our known_hosts from what
// the login node reports (ssh-keyscan there) — never StrictHostKeyChecking no.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { GpuDevError } from '../core/errors';
import type { Runner } from '../hosts/runner';
import { resolveSshTarget } from '../hosts/sshConfig';
import { quoteArgv } from '../hosts/shellQuote';
import { hostBlock, upsertBlock } from '../remote/sshConfigFile';

export function defaultSshConfigFile(): string {
  return path.join(os.homedir(), '.ssh', 'gpudev', 'config');
}

export function gpudevKnownHosts(): string {
  return path.join(os.homedir(), '.ssh', 'gpudev', 'known_hosts');
}

/** The first host of a Slurm node list: "gpu[07-09,12],cpu1" → gpu07. */
export function firstNode(list: string): string | undefined {
  const match = /^([^,[]+)(?:\[(\d+))?/.exec(list.trim());
  return match ? `${match[1]}${match[2] ?? ''}` : undefined;
}

const safe = (text: string) => text.replace(/[^\w.-]+/g, '-');
export const jobAlias = (cluster: string, jobId: string) => `gpudev-${safe(cluster)}-${jobId}`;

/** known_hosts lines from `ssh-keyscan` output, for `alias` (comments and other hosts' lines dropped). */
export function pinnedKeys(keyscan: string, node: string, alias: string): string[] {
  return keyscan
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length >= 3 && !f[0]!.startsWith('#') && f[0] === node && /^(ssh-|ecdsa-)/.test(f[1]!))
    .map((f) => `${alias} ${f[1]} ${f[2]}`);
}

export interface AttachRequest {
  readonly cluster: string;
  /** The login node as the user configured it (alias or user@host[:port]). */
  readonly login: string;
  readonly jobId: string;
  readonly nodes: string;
  /** Our ssh config file and known_hosts file (defaults in ~/.ssh/gpudev/). */
  readonly configFile?: string;
  readonly knownHostsFile?: string;
  /** Resolve the login alias with this file instead of ~/.ssh/config (`ssh -F`). */
  readonly userSshConfig?: string;
  /** proxyjump: the node's own sshd (port 22); job-sshd: the sshd the holder job started. */
  readonly mode?: 'proxyjump' | 'job-sshd';
}

export interface Attached {
  readonly alias: string;
  readonly node: string;
  readonly configFile: string;
  /** What opens a shell there with OpenSSH alone. */
  readonly sshCommand: string[];
  /** The node's pinned keys under its own name (`[node]:port` off port 22), for a client without HostKeyAlias. */
  readonly nodeKnownHosts: string[];
}

/** Writes the Host entries and pins the node's keys; `loginRunner` runs on the login node, `local` here (`ssh -G`). */
export async function writeAttachConfig(
  request: AttachRequest,
  loginRunner: Runner,
  local: Runner,
): Promise<Attached | GpuDevError> {
  const node = firstNode(request.nodes);
  if (!node || !/^[\w.-]+$/.test(node))
    return { message: `job ${request.jobId} has no node yet (${request.nodes || 'pending'})` };
  const login = await loginEntry(request, local);
  if ('message' in login) return login;
  const alias = jobAlias(request.cluster, request.jobId);
  const target =
    request.mode === 'job-sshd'
      ? await jobSshd(request.jobId, alias, login.identity, loginRunner)
      : await nodeSshd(node, `gpudev-${safe(request.cluster)}-${node}`, loginRunner);
  if ('message' in target) return target;
  const { keyAlias, keys, port } = target;
  const jobBlock = hostBlock(alias, [
    ['HostName', node],
    ...(port ? [['Port', port] as const] : []),
    ['ProxyJump', login.alias],
    ...login.common,
    ['HostKeyAlias', keyAlias],
    ['UserKnownHostsFile', login.knownHostsFile],
    ['StrictHostKeyChecking', 'yes'],
  ]);
  const existing = await fs.readFile(login.configFile, 'utf8').catch(() => '');
  await fs.writeFile(login.configFile, upsertBlock(existing, alias, jobBlock), { mode: 0o600 });
  const known = await fs.readFile(login.knownHostsFile, 'utf8').catch(() => '');
  const fresh = keys.filter((line) => !known.split('\n').includes(line));
  if (fresh.length)
    await fs.appendFile(login.knownHostsFile, `${known && !known.endsWith('\n') ? '\n' : ''}${fresh.join('\n')}\n`, {
      mode: 0o600,
    });
  const named = port && port !== '22' ? `[${node}]:${port}` : node;
  return {
    alias,
    node,
    configFile: login.configFile,
    sshCommand: ['ssh', '-F', login.configFile, alias],
    nodeKnownHosts: keys.map((line) => `${named} ${line.split(' ').slice(1).join(' ')}`),
  };
}

/**
 * The login node's Host entry `gpudev-<cluster>-login` in our file (as `ssh -G` resolves the configured
 * login: host, port, user, keys, its own ProxyJump): what the job's entry jumps through, and what
 * `attach: srun` runs srun on.
 */
export async function writeLoginEntry(
  request: Pick<AttachRequest, 'cluster' | 'login' | 'configFile' | 'knownHostsFile' | 'userSshConfig'>,
  local: Runner,
): Promise<{ alias: string; configFile: string } | GpuDevError> {
  const login = await loginEntry(request, local);
  return 'message' in login ? login : { alias: login.alias, configFile: login.configFile };
}

async function loginEntry(
  request: Pick<AttachRequest, 'cluster' | 'login' | 'configFile' | 'knownHostsFile' | 'userSshConfig'>,
  local: Runner,
) {
  const login = await resolveSshTarget(request.login, local, request.userSshConfig);
  if ('message' in login) return login;
  const identity = (
    await Promise.all(
      login.identityFiles.map((f) =>
        fs.access(f).then(
          () => f,
          () => undefined,
        ),
      ),
    )
  ).filter((f): f is string => !!f);
  const configFile = request.configFile ?? defaultSshConfigFile();
  const knownHostsFile = request.knownHostsFile ?? gpudevKnownHosts();
  const alias = `gpudev-${safe(request.cluster)}-login`;
  const common = [['User', login.user], ...(identity.length ? [['IdentityFile', identity] as const] : [])] as const;
  const block = hostBlock(alias, [
    ['HostName', login.host],
    ['Port', String(login.port)],
    ...common,
    ...(login.proxyJump ? [['ProxyJump', login.proxyJump] as const] : []),
    ['UserKnownHostsFile', [path.join(os.homedir(), '.ssh', 'known_hosts'), knownHostsFile]],
  ]);
  await fs.mkdir(path.dirname(configFile), { recursive: true, mode: 0o700 });
  const existing = await fs.readFile(configFile, 'utf8').catch(() => '');
  await fs.writeFile(configFile, upsertBlock(existing, alias, block), { mode: 0o600 });
  return { alias, configFile, knownHostsFile, identity, common };
}

/**
 * What a terminal of the reservation runs where it lands (a node of the job or the login node), one line of
 * POSIX sh for `ssh -t host sh -c <it>`: a login shell inside the job's allocation (`srun --jobid <job>
 * --overlap`, so SLURM_JOB_ID and the job's GPUs are set) with the job's ~/.gpudev/jobs/<job>.env sourced;
 * when srun cannot start a step there, a plain shell that says first that it is not inside the allocation, and why.
 */
export function allocationShell(jobId: string, node?: string): string {
  if (!/^\d+(_\d+)?$/.test(jobId)) throw new Error(`not a Slurm job id: ${jobId}`);
  const step = [
    'srun',
    `--jobid=${jobId}`,
    '--overlap',
    '--nodes=1',
    '--ntasks=1',
    ...(node && /^[\w.-]+$/.test(node) ? [`--nodelist=${node}`] : []),
  ];
  const inside = `f="$HOME/.gpudev/jobs/${jobId}.env"; [ -r "$f" ] && . "$f"; exec bash -l`;
  const notInside = [
    `gpudev: this shell on $(hostname) is NOT inside job ${jobId}'s allocation: SLURM_JOB_ID and CUDA_VISIBLE_DEVICES are not set here,`,
    `and ~/.gpudev/jobs/${jobId}.env is not sourced. srun --jobid=${jobId} --overlap could not start a step:`,
  ];
  return [
    `if err=$(${quoteArgv([...step, 'true'])} 2>&1 </dev/null); then exec ${quoteArgv([...step, '--pty', 'bash', '-c', inside])}; fi`,
    `printf '%s\\n' ${notInside.map((line) => `"${line}"`).join(' ')} "  $err" >&2`,
    'exec "${SHELL:-/bin/sh}" -l',
  ].join('; ');
}

type SshdTarget = { keyAlias: string; keys: string[]; port?: string } | GpuDevError;

/** The node's own sshd: its keys as the login node's ssh-keyscan reads them. */
async function nodeSshd(node: string, keyAlias: string, login: Runner): Promise<SshdTarget> {
  const scan = await login.run(['ssh-keyscan', '-T', '5', '-t', 'ed25519,ecdsa,rsa', node]);
  const keys = pinnedKeys(scan.stdout, node, keyAlias);
  if (!keys.length)
    return {
      message: `the login node could not read ${node}'s host key (ssh-keyscan: ${(scan.stderr || 'no answer').trim().split('\n')[0]})`,
      hint: 'is sshd running on the compute nodes? ask your administrators, or use attach: job-sshd',
    };
  return { keyAlias, keys };
}

const JOB_SSHD_WAIT_MS = 15_000;

/**
 * The job's own sshd (attach: job-sshd): its port and host key from the job's folder in the shared home,
 * read on the login node; the local public key copied in so that sshd lets this client in.
 */
async function jobSshd(jobId: string, alias: string, identity: readonly string[], login: Runner): Promise<SshdTarget> {
  const dir = `.gpudev/jobs/${jobId}`;
  let port = '';
  for (const started = Date.now(); !/^\d+$/.test(port) && Date.now() - started < JOB_SSHD_WAIT_MS;) {
    port = (await login.run(['cat', `${dir}/port`])).stdout.trim();
    if (!/^\d+$/.test(port)) await new Promise((resolve) => setTimeout(resolve, 300));
  }
  if (!/^\d+$/.test(port))
    return {
      message: `job ${jobId} started no sshd (no ${dir}/port after ${JOB_SSHD_WAIT_MS / 1000} s)`,
      hint: `see ~/${dir}/sshd.log on the cluster`,
    };
  const hostKey = (await login.run(['cat', `${dir}/host_key.pub`])).stdout.trim().split(/\s+/);
  if (hostKey.length < 2 || !/^(ssh-|ecdsa-)/.test(hostKey[0]!))
    return { message: `job ${jobId}'s sshd host key cannot be read (${dir}/host_key.pub)` };
  const publicKey = (await Promise.all(identity.map((f) => fs.readFile(`${f}.pub`, 'utf8').catch(() => '')))).find(
    (k) => /^(ssh-|ecdsa-)\S+ \S+/.test(k.trim()),
  );
  if (publicKey) {
    const copied = await login.run(['sh', '-c', 'umask 077; cat >> "$1"', 'sh', `${dir}/authorized_keys`], {
      stdin: `${publicKey.trim()}\n`,
    });
    if (copied.exitCode !== 0)
      return { message: `could not let this key into job ${jobId}'s sshd: ${copied.stderr.trim()}` };
  }
  return { keyAlias: alias, keys: [`${alias} ${hostKey[0]} ${hostKey[1]}`], port };
}

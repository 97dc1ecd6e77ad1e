// A running reservation's node as a host of the GPUs view: the Host entry Attach writes (through the
// login node's ProxyJump, or to the job's own sshd), its keys pinned from the login node's view of it.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { GpuDevError } from '../core/errors';
import type { Runner } from '../hosts/runner';
import { createSshRunner, gpudevKnownHostsFile } from '../hosts/sshHosts';
import type { SshRunner } from '../hosts/sshRunner';
import { gpudevKnownHosts, writeAttachConfig, type AttachRequest, type Attached } from './attach';

/**
 * The node's runner: the attach entry written, the node's keys under its own name in a known_hosts file
 * of this job's alone (so a bare node name is trusted for this connection only), and the login node
 * checked as usual (`knownHostsFiles`, default ~/.ssh/known_hosts and ours).
 */
export async function reservationNodeRunner(
  request: AttachRequest,
  login: Runner,
  local: Runner,
  knownHostsFiles: readonly string[] = [path.join(os.homedir(), '.ssh', 'known_hosts'), gpudevKnownHostsFile()],
  /** What the runner is called (the GPUs view's host name); the alias by default. */
  label?: string,
): Promise<{ runner: SshRunner; attached: Attached; jobKnownHosts: string } | GpuDevError> {
  const attached = await writeAttachConfig(request, login, local);
  if ('message' in attached) return attached;
  const jobKnownHosts = path.join(
    path.dirname(request.knownHostsFile ?? gpudevKnownHosts()),
    `${attached.alias}.known_hosts`,
  );
  await fs.writeFile(jobKnownHosts, `${attached.nodeKnownHosts.join('\n')}\n`, { mode: 0o600 });
  const runner = await createSshRunner({ name: label ?? attached.alias, ssh: attached.alias }, local, {
    configFile: attached.configFile,
    knownHostsFiles: [...knownHostsFiles, jobKnownHosts],
  });
  return 'message' in runner ? runner : { runner, attached, jobKnownHosts };
}

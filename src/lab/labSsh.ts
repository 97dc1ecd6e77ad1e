// The lab's SSH host, for OpenSSH, Remote-SSH and the product alike: Host blocks `lab` and `lab-slurm` in
// our own ssh config file (~/.ssh/gpudev/config, Include-d from ~/.ssh/config), its host key pinned in our
// known_hosts (StrictHostKeyChecking yes), and all of it taken out again by `down`.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { knownHostsName } from '../hosts/knownHosts';
import { LocalRunner } from '../hosts/runner';
import { resolveSshTarget } from '../hosts/sshConfig';
import { defaultSshConfigFile, gpudevKnownHosts } from '../reserve/attach';
import { hasInclude, hostBlock, removeBlock, upsertBlock, withInclude, withoutInclude } from '../remote/sshConfigFile';
import type { LabState } from './labState';

const userSshConfig = () => path.join(os.homedir(), '.ssh', 'config');
const read = (file: string) => fs.readFile(file, 'utf8').catch(() => '');

async function write(file: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await fs.writeFile(file, text, { mode: 0o600 });
}

/** Whether the user's own ssh config already defines `alias` (a block of ours does not count). */
export async function labAliasTaken(alias: string): Promise<boolean> {
  if ((await read(defaultSshConfigFile())).includes(`# gpudev:begin ${alias}\n`)) return false;
  const resolved = await resolveSshTarget(alias, new LocalRunner());
  return !('message' in resolved) && resolved.host !== alias;
}

export interface PinnedLabSsh {
  readonly configFile: string;
  readonly knownHostsLine: string;
  readonly addedInclude: boolean;
  /** ~/.ssh/config did not exist before. */
  readonly createdUserConfig: boolean;
}

export async function pinLabSsh(sshdDir: string, port: number, user: string, aliases: string[]): Promise<PinnedLabSsh> {
  const configFile = defaultSshConfigFile();
  const knownHostsFile = gpudevKnownHosts();
  const [type, key] = (await fs.readFile(path.join(sshdDir, 'host_key.pub'), 'utf8')).trim().split(/\s+/);
  const knownHostsLine = `${knownHostsName('127.0.0.1', port)} ${type} ${key}`;
  let config = await read(configFile);
  for (const alias of aliases)
    config = upsertBlock(
      config,
      alias,
      hostBlock(alias, [
        ['HostName', '127.0.0.1'],
        ['Port', String(port)],
        ['User', user],
        ['IdentityFile', [path.join(sshdDir, 'client_key')]],
        ['IdentitiesOnly', 'yes'],
        ['UserKnownHostsFile', knownHostsFile],
        ['StrictHostKeyChecking', 'yes'],
      ]),
    );
  await write(configFile, config);
  const known = await read(knownHostsFile);
  const others = known.split('\n').filter((line) => line && !line.startsWith(`${knownHostsName('127.0.0.1', port)} `));
  await write(knownHostsFile, `${[...others, knownHostsLine].join('\n')}\n`);
  const userConfig = await fs.readFile(userSshConfig(), 'utf8').catch(() => undefined);
  const addedInclude = !hasInclude(userConfig ?? '');
  if (addedInclude) await write(userSshConfig(), withInclude(userConfig ?? '', configFile));
  return { configFile, knownHostsLine, addedInclude, createdUserConfig: addedInclude && userConfig === undefined };
}

/** Takes out the Host blocks, the pinned key and, when the lab added it and nothing else needs it, the Include. */
export async function forgetLabSsh(state: LabState, aliases: string[]): Promise<void> {
  let config = await read(state.sshConfigFile);
  for (const alias of aliases) config = removeBlock(config, alias);
  await write(state.sshConfigFile, config);
  if (state.knownHostsLine) {
    const known = await read(gpudevKnownHosts());
    await write(
      gpudevKnownHosts(),
      known
        .split('\n')
        .filter((line) => line && line !== state.knownHostsLine)
        .map((l) => `${l}\n`)
        .join(''),
    );
  }
  if (state.addedInclude && !config.includes('# gpudev:begin ')) {
    const rest = withoutInclude(await read(userSshConfig()));
    await (state.createdUserConfig && !rest.trim()
      ? fs.rm(userSshConfig(), { force: true })
      : write(userSshConfig(), rest));
  }
}

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { builtinCatalog } from '../../src/catalog/catalog';
import { planCosplay } from '../../src/cosplay/planner';
import { notAppliedNote, processRefusal } from '../../src/cosplay/process/processSession';
import {
  envFile,
  parseStarted,
  sessionFolder,
  sessionFolderOk,
  startScript,
} from '../../src/cosplay/process/sessionFiles';
import { attachedContainerUri, sshRemoteUri } from '../../src/remote/devContainerUri';
import {
  pinnedSessionKey,
  sessionAlias,
  sessionBlock,
  sharing,
  withoutPinned,
} from '../../src/remote/sessionHostEntry';
import { tempDir } from './tempDir';

const entry = (key: string) => {
  const found = builtinCatalog().lookup(key);
  if (!found.ok) throw new Error(found.error.message);
  return found.entry;
};
const plan = (strategy: 'mig' | 'mps') => {
  const planned = planCosplay({ target: entry('rtx3090'), host: entry('h100-sxm'), hostGpuCount: 8, strategy });
  if (!planned.ok) throw new Error(planned.error.message);
  return planned.plan;
};
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOj0bT2mB9XhQvKMbZ0G5c3Qv1bD6h7l8z2uVq9pCk3Z gpudev';

describe('process sessions', () => {
  it('keeps session folders under the journal folder and refuses any other folder read back', () => {
    const folder = sessionFolder('/home/u/.local/state/gpudev', 'gpudev-rtx3090-gpu0-ab12');
    assert.equal(folder, '/home/u/.local/state/gpudev/sessions/gpudev-rtx3090-gpu0-ab12');
    assert.ok(sessionFolderOk(folder, '/home/u/.local/state/gpudev'));
    for (const bad of ['/home/u', '/home/u/.local/state/gpudev/sessions/../../x', '/etc/gpudev-x', `${folder}/..`])
      assert.ok(!sessionFolderOk(bad, '/home/u/.local/state/gpudev'), bad);
    assert.throws(() => sessionFolder('/x', '../etc'));
  });

  it('the env file puts the shim first on PATH once however often it is sourced, after /etc/profile reset PATH too', () => {
    const dir = tempDir('gpudev-env-');
    fs.writeFileSync(
      path.join(dir, 'env.sh'),
      envFile(dir, { GPUDEV_TARGET_NAME: 'NVIDIA GeForce RTX 3090' }, '/opt/smi'),
    );
    const run = (script: string) =>
      spawnSync('/bin/sh', ['-c', script], {
        encoding: 'utf8',
        env: { PATH: '/usr/bin:/bin', HOME: dir },
      }).stdout.trim();
    const once = run(`. ${dir}/env.sh; echo "$PATH|$PYTHONPATH|$GPUDEV_TARGET_NAME"`);
    assert.equal(once, `${dir}/shim/bin:/usr/bin:/bin:/opt/smi|${dir}/shim|NVIDIA GeForce RTX 3090`);
    assert.equal(run(`. ${dir}/env.sh; . ${dir}/env.sh; echo "$PATH|$PYTHONPATH|$GPUDEV_TARGET_NAME"`), once);
    const login = spawnSync('/bin/bash', ['-lc', 'echo "$PATH"'], {
      encoding: 'utf8',
      env: { PATH: '/nowhere', HOME: dir, BASH_ENV: `${dir}/env.sh` },
    });
    assert.match(login.stdout, new RegExp(`^${dir}/shim/bin:`));
  });

  it('quotes every value into the scripts and refuses what could break out of them', () => {
    const request = {
      folder: '/h/.local/state/gpudev/sessions/gpudev-a',
      env: {},
      authorizedKeys: [KEY],
      shimTar: Buffer.from('x'),
    };
    assert.match(startScript(request), /^set -eu$/m);
    assert.throws(
      () => startScript({ ...request, env: { GPUDEV_TARGET_NAME: 'x$(reboot)' } }),
      /not a session variable/,
    );
    assert.throws(() => startScript({ ...request, env: { 'A;B': 'x' } }), /not a session variable/);
    assert.throws(() => startScript({ ...request, authorizedKeys: ['ssh-ed25519 AAAA\ncommand="x"'] }), /public key/);
    assert.throws(() => envFile('/f', {}, '/a b'), /not a folder/);
  });

  it('reads the start script output defensively', () => {
    assert.deepEqual(parseStarted(`port=40123\npid=77\nhostkey=${KEY.split(' ').slice(0, 2).join(' ')}\n`), {
      port: 40123,
      pid: 77,
      hostKey: KEY.split(' ').slice(0, 2).join(' '),
    });
    assert.match(parseStarted('port=99999\npid=1\n') as string, /no port/);
    assert.match(parseStarted('port=22\npid=5\nhostkey=ssh-ed25519 $(x)\n') as string, /no host key/);
  });

  it('reports root-only steps with what leaving them out costs, and refuses MIG without root', () => {
    const mps = plan('mps');
    const lock = mps.mutations.find((m) => m.change.kind === 'clockLock')!;
    const note = notAppliedNote(lock, mps);
    const change = lock.change as { mhz: number };
    assert.match(note, /^not applied: needs root — /);
    assert.match(note, new RegExp(`${(mps.host.boostClockMHz / change.mhz).toFixed(2)}×`));
    assert.match(processRefusal(plan('mig'))!.message, /MIG slice can only be made by root/);
    assert.equal(processRefusal(mps), undefined);
  });

  it('writes a Host entry that pins the session key under its alias and jumps through the host', () => {
    const alias = sessionAlias('user@gpu-box:2222', 'gpudev-rtx3090-gpu1-00ff');
    assert.equal(alias, 'gpudev-user-gpu-box-2222-rtx3090-gpu1-00ff');
    const block = sessionBlock({
      alias,
      port: 40123,
      user: 'u',
      identity: ['/k'],
      knownHostsFile: '/kh',
      jump: `${alias}-host`,
    });
    for (const line of [
      'HostName 127.0.0.1',
      'Port 40123',
      `ProxyJump ${alias}-host`,
      `HostKeyAlias ${alias}`,
      'StrictHostKeyChecking yes',
    ])
      assert.ok(block.includes(`  ${line}\n`), line);
    const pinned = pinnedSessionKey(alias, KEY.split(' ').slice(0, 2).join(' '));
    assert.equal(withoutPinned(`other ${KEY}\n${pinned}\n`, alias), `other ${KEY}\n`);
    assert.throws(() => pinnedSessionKey(alias, 'ssh-ed25519 x y'));
  });

  it('shares connections where OpenSSH can (ControlMaster), never on Windows', () => {
    const shared = sharing('/home/u/.ssh/gpudev', 'linux');
    const block = sessionBlock({ alias: 'gpudev-x', port: 1, user: 'u', identity: [], knownHostsFile: '/kh', shared });
    for (const line of ['ControlMaster auto', 'ControlPath /home/u/.ssh/gpudev/cm-%C', 'ControlPersist 10m'])
      assert.ok(block.includes(`  ${line}\n`), line);
    assert.ok(sharing('/my home/.ssh/gpudev', 'darwin').some(([, v]) => v === '/my home/.ssh/gpudev/cm-%C'));
    assert.deepEqual(sharing('C:/Users/u/.ssh/gpudev', 'win32'), []);
  });

  it('builds the Dev Containers URI of a container, nested in Remote-SSH for a remote host', () => {
    const hex = Buffer.from('{"containerName":"/gpudev-l4-gpu0-0001"}').toString('hex');
    assert.equal(attachedContainerUri('gpudev-l4-gpu0-0001'), `vscode-remote://attached-container+${hex}/`);
    assert.equal(
      attachedContainerUri('gpudev-l4-gpu0-0001', '/work/my repo', 'gpu-box'),
      `vscode-remote://attached-container+${hex}@ssh-remote+gpu-box/work/my%20repo`,
    );
    assert.equal(sshRemoteUri('gpudev-lab-x', '/home/u'), 'vscode-remote://ssh-remote+gpudev-lab-x/home/u');
    assert.throws(() => attachedContainerUri('a/b'));
    assert.throws(() => sshRemoteUri('a b', '/'));
  });
});

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { labGuide, labSettings } from '../../src/lab/labWorkspace';
import { labStateFile, readLabState, type LabState } from '../../src/lab/labState';
import { withInclude, withoutInclude } from '../../src/remote/sshConfigFile';

const state: LabState = {
  version: 1,
  root: '/repo',
  sshd: { dir: '/c/lab/sshd', port: 2290, user: 'alice', pid: 10 },
  docker: { dir: '/c/lab/docker', socket: '/c/lab/docker/docker.sock', image: 'gpudev-test/empty:1', pid: 11 },
  slurm: null,
  sshConfigFile: '/home/alice/.ssh/gpudev/config',
  knownHostsLine: '[127.0.0.1]:2290 ssh-ed25519 AAAA',
  addedInclude: true,
  createdUserConfig: false,
  missing: ['Slurm cluster lab-slurm: needs root to install and start (sudo apt-get install -y slurm-wlm munge)'],
};

describe('lab', () => {
  it('points the settings at what runs: the host with its engine, no cluster without Slurm', () => {
    assert.deepEqual(labSettings(state), {
      'gpuDev.hosts': [{ name: 'lab', ssh: 'lab', simulated: true, dockerSocket: '/c/lab/docker/docker.sock' }],
      'gpuDev.clusters': [],
    });
    const withSlurm = { ...state, slurm: { dir: '/tmp/s', node: 'vm', startedByLab: true }, missing: [] };
    assert.deepEqual(labSettings(withSlurm)['gpuDev.clusters'], [
      { name: 'lab-slurm', scheduler: 'slurm', login: 'lab-slurm' },
    ]);
  });

  it('says in LAB.md that it is a simulation, and what is not running and why', () => {
    const guide = labGuide(state);
    assert.match(guide, /\*\*simulation\*\*/);
    assert.match(guide, /Not running:\n\n- Slurm cluster lab-slurm: needs root .*slurm-wlm munge/);
    assert.match(guide, /command:gpuDev\.cosplayAs/);
  });

  it('reads its state file defensively: absent, not JSON, or not its shape', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-lab-unit-'));
    assert.equal(await readLabState(dir), undefined);
    fs.writeFileSync(labStateFile(dir), '{ nope');
    assert.match((await readLabState(dir)) as string, /is not JSON; remove the folder/);
    fs.writeFileSync(labStateFile(dir), JSON.stringify({ ...state, version: 2 }));
    assert.match((await readLabState(dir)) as string, /lab\.json: /);
    fs.writeFileSync(labStateFile(dir), JSON.stringify(state));
    assert.deepEqual(await readLabState(dir), state);
    fs.rmSync(dir, { recursive: true });
  });

  it('takes out exactly the Include it put in ~/.ssh/config', () => {
    const mine = 'Host work\n  HostName work.example.com\n';
    const included = withInclude(mine, '/home/alice/.ssh/gpudev/config');
    assert.notEqual(included, mine);
    assert.equal(withoutInclude(included), mine);
    assert.equal(withoutInclude(mine), mine);
  });
});

// A host GPU the catalog lacks (the fake GPU's made-up NVIDIA X999): `gpudev cosplay up` plans it from
// what it reports and applies the plan against a real Docker Engine; `down` restores the host.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../unit/fixtures';
import { startDockerd, type Dockerd } from './dockerd';
import { fakeHost, testProfile } from './fakeHost';

const UNKNOWN = 'constructed-default-x999-x8';

describe('cosplay on a host GPU the catalog lacks', function () {
  this.timeout(120_000);
  let dockerd: Dockerd;
  before(() => {
    dockerd = startDockerd();
  });

  it('plans it from its reports, says which figures are modelled, applies and restores', async () => {
    const host = await fakeHost(11, UNKNOWN);
    const original = host.state();
    const profile = path.join(host.home, 'profile.json');
    const test = testProfile(dockerd.image, host);
    fs.writeFileSync(profile, JSON.stringify({ ...test, env: { ...test.env, GPUDEV_FAKE_SMI_SCENARIO: UNKNOWN } }));
    const env = { ...host.env, DOCKER_HOST: `unix://${dockerd.socketPath}`, GPUDEV_TEST_HOST_PROFILE: profile };
    const cli = (args: string[]) =>
      spawnSync(process.execPath, [path.join(repoRoot, 'out/src/cli.js'), 'cosplay', ...args], {
        env,
        cwd: host.home,
        encoding: 'utf8',
      });
    const up = cli(['up', 'rtx3090', '--gpu', '2', '--strategy', 'mps']);
    assert.equal(up.status, 0, up.stderr);
    assert.match(up.stderr, /NVIDIA X999 is not in the catalog: planned from what it reports/);
    assert.match(up.stderr, /host SMs: 160 — reported \(mig -lgip, the 7g\.192gb profile/);
    assert.match(up.stderr, /host memory bandwidth: \d+ GB\/s — modelled/);
    const name = up.stdout.trim();
    assert.match(name, /^gpudev-rtx3090-gpu2-/);
    assert.notDeepEqual(host.state(), original, 'the plan changed the GPU (clock lock, power cap)');
    const down = cli(['down', name]);
    assert.equal(down.status, 0, down.stderr);
    assert.deepEqual(host.state(), original);
    assert.deepEqual(host.journalFiles(), []);
  });
});

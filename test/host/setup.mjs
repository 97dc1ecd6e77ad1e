// What the host tier's extension host is given, on code-server's server (run.mjs) and on a desktop
// (desktop.mjs): a workspace holding the recorded fidelity reports, the fake GPU first on PATH, the
// fake's scenario in a file the tests can rewrite, and GPUDEV_TEST_API so that activate() exports its test API.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../scripts/codeServer.mjs';

/** The fixture the fake nvidia-smi replays first: 8 H100s with processes. */
export const SCENARIO = 'default-h100-x8-570.133.20';
const fakeGpuBin = path.join(repoRoot, 'lab/fake-gpu/bin');

export function prepareHostTestFolders(tmp) {
  const dirs = Object.fromEntries(
    ['home', 'workspace', 'extensions', 'serverData', 'userData'].map((name) => [name, path.join(tmp, name)]),
  );
  for (const dir of Object.values(dirs)) fs.mkdirSync(dir, { recursive: true });
  const reports = path.join(dirs.workspace, '.gpudev/reports');
  fs.mkdirSync(reports, { recursive: true });
  const recorded = path.join(repoRoot, 'test/fixtures/reports');
  for (const file of fs.readdirSync(recorded).filter((f) => f.endsWith('.json'))) {
    fs.copyFileSync(path.join(recorded, file), path.join(reports, file));
  }
  dirs.scenarioFile = path.join(tmp, 'gpu-scenario');
  fs.writeFileSync(dirs.scenarioFile, SCENARIO);
  return dirs;
}

/** PATH with the fake GPU first and no other nvidia-smi. */
function fakeGpuPath() {
  const rest = (process.env.PATH ?? '').split(':').filter((dir) => dir && !fs.existsSync(path.join(dir, 'nvidia-smi')));
  return [fakeGpuBin, ...rest].join(':');
}

/** The variables the extension host needs, beside the caller's own. */
export function hostTestEnv(dirs) {
  return { PATH: fakeGpuPath(), GPUDEV_TEST_API: '1', GPUDEV_FAKE_SMI_SCENARIO_FILE: dirs.scenarioFile };
}

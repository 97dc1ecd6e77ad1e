// The host tier (`npm run test:host`): test/host's mocha suite inside the real extension host of the VS Code
// server that code-server embeds, fully offline. The server takes the test flags code-server's CLI rejects;
// the workbench, opened in Debian's Chromium by playwright-core, loads this repository as the extension under
// development and out/test/host/index.js as its tests (vscode-remote:// URIs in the URL's payload), then calls
// codeAutomationExit with mocha's outcome. Prints mocha's report; exits with its status.
// Needs `node esbuild.mjs` (dist/) and `node esbuild.mjs --tests` (out/) first.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { ensureCodeServer, freePort, repoRoot } from '../../scripts/codeServer.mjs';
import { fakeGpuState, testDocker, writeHostProfile } from '../e2e/cosplayHost.mjs';
import { SCENARIO, hostTestEnv, prepareHostTestFolders } from './setup.mjs';

const TIMEOUT_MS = Number(process.env.GPUDEV_HOST_TIMEOUT_MS ?? 150_000);
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

for (const built of ['dist/extension.js', 'out/test/host/index.js', 'dist/lab/nvidia-smi.js']) {
  if (!fs.existsSync(path.join(repoRoot, built))) {
    console.error(
      `${built} is missing: run \`node esbuild.mjs && node esbuild.mjs --tests\` first (npm run test:host does)`,
    );
    process.exit(2);
  }
}

const started = Date.now();
const codeServer = ensureCodeServer();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-host-'));
const dirs = prepareHostTestFolders(tmp);
const report = path.join(tmp, 'mocha-report.txt');
const env = { ...process.env, ...hostTestEnv(dirs), HOME: dirs.home, SHELL: '/bin/bash', GPUDEV_HOST_REPORT: report };
delete env.GPUDEV_FAKE_SMI_SCENARIO; // it would win over the scenario file the tests rewrite
delete env.DOCKER_HOST;
// The Test Explorer test applies a session on the test engine (lab/infra/dockerd.sh, which needs root),
// a fake GPU keeping its settings in a folder of its own: the other tests' GPUs stay as the fixture says.
if (process.getuid?.() === 0) {
  const docker = testDocker();
  const stateDir = path.join(tmp, 'gpu-state');
  fakeGpuState(stateDir, SCENARIO);
  const profile = writeHostProfile(path.join(tmp, 'host-profile.json'), {
    image: docker.image,
    stateDir,
    scenario: SCENARIO,
  });
  Object.assign(env, {
    DOCKER_HOST: `unix://${docker.socket}`,
    GPUDEV_HOST_COSPLAY: JSON.stringify({ profile, stateDir }),
  });
}
// The server takes the extension host's environment from the user's login shell, as it would for a real user.
const exported = [
  'PATH',
  'GPUDEV_TEST_API',
  'GPUDEV_FAKE_SMI_SCENARIO_FILE',
  'GPUDEV_HOST_REPORT',
  'GPUDEV_HOST_GREP',
  'DOCKER_HOST',
  'GPUDEV_HOST_COSPLAY',
];
fs.writeFileSync(
  path.join(dirs.home, '.bash_profile'),
  exported
    .filter((name) => env[name] !== undefined)
    .map((name) => `export ${name}='${env[name]}'\n`)
    .join(''),
);

const port = await freePort();
let serverOutput = '';
const server = spawn(
  codeServer.node,
  [
    codeServer.serverMain,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--without-connection-token',
    '--accept-server-license-terms',
    '--enable-smoke-test-driver',
    '--disable-telemetry',
    '--disable-workspace-trust',
    '--server-data-dir',
    dirs.serverData,
    '--extensions-dir',
    dirs.extensions,
  ],
  { env, stdio: ['ignore', 'pipe', 'pipe'] },
);
server.stdout.on('data', (chunk) => (serverOutput += chunk));
server.stderr.on('data', (chunk) => (serverOutput += chunk));

let browser;
let printed = 0;
/** Prints what mocha wrote since last time. */
function printReport() {
  if (!fs.existsSync(report)) return;
  const text = fs.readFileSync(report, 'utf8');
  process.stdout.write(text.slice(printed));
  printed = text.length;
}

let code = 1;
try {
  await waitForServer();
  const remote = (file) => `vscode-remote://127.0.0.1:${port}${file}`;
  const payload = [
    ['extensionDevelopmentPath', remote(repoRoot)],
    ['extensionTestsPath', remote(path.join(repoRoot, 'out/test/host/index.js'))],
    ['skipWelcome', 'true'],
  ];
  const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(dirs.workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const exited = new Promise((resolve) => page.exposeFunction('codeAutomationExit', (status) => resolve(status)));
  const progress = setInterval(printReport, 500);
  await page.goto(url);
  const timedOut = new Promise((resolve) => setTimeout(() => resolve('timeout'), TIMEOUT_MS).unref());
  const outcome = await Promise.race([exited, timedOut]);
  clearInterval(progress);
  printReport();
  if (outcome === 'timeout') {
    console.log(`\nhost tier: no result from the extension host within ${TIMEOUT_MS / 1000} s`);
    const shot = path.join(repoRoot, 'test/e2e/screenshots/host-timeout.png');
    fs.mkdirSync(path.dirname(shot), { recursive: true });
    await page.screenshot({ path: shot }).catch(() => {});
    console.log(`host tier: the workbench as it was: ${path.relative(repoRoot, shot)}`);
  } else code = Number(outcome);
  if (!/^\s*\d+ passing/m.test(fs.existsSync(report) ? fs.readFileSync(report, 'utf8') : '')) {
    console.log(
      `\nhost tier: mocha did not report (exit ${outcome}); the server said:\n${serverOutput.split('\n').slice(-40).join('\n')}`,
    );
    code ||= 1;
  }
} catch (error) {
  printReport();
  console.log(`\nhost tier: ${error?.stack ?? error}\n${serverOutput.split('\n').slice(-40).join('\n')}`);
  code = 1;
} finally {
  await browser?.close().catch(() => {});
  server.kill('SIGTERM');
  await Promise.race([once(server, 'exit'), new Promise((resolve) => setTimeout(resolve, 5000))]);
  if (server.exitCode === null) server.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(`host tier: ${code === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(code);

async function waitForServer() {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`the VS Code server exited with ${server.exitCode}`);
    try {
      await fetch(`http://127.0.0.1:${port}/version`);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw new Error('the VS Code server did not answer within 60 s');
}

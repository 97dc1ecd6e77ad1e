// `npm start`: try the extension without VS Code. Builds the .vsix, installs code-server (first run
// only, cached outside the clone), installs the .vsix, opens the folder npm was run from, prints the URL.
// `npm start -- --lab` (offered on a machine without an NVIDIA driver) starts the demo lab first
// (`gpudev lab up`) and opens its folder, with User settings pointing at the lab's host and cluster.
// Every step names itself; a failed one says what failed and what to try, never a stack trace.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline/promises';
import {
  ensureCodeServer,
  freePort,
  installExtension,
  repoRoot,
  startCodeServer,
  writeUserSettings,
} from './codeServer.mjs';

const cache = process.env.GPUDEV_CACHE ?? path.join(os.homedir(), '.cache/gpudev');
const labDir = path.join(cache, 'lab');
const say = (text) => console.log(`[gpudev] ${text}`);

/** Runs one step; on failure prints what failed, the tool's own message (already shown above) and what to try. */
async function step(name, hint, action) {
  say(`${name}…`);
  try {
    return await action();
  } catch (error) {
    const reason = error?.status !== undefined ? `exit status ${error.status}` : (error?.message ?? String(error));
    console.error(`\n[gpudev] ${name} failed (${reason.split('\n')[0]}); its own message is above.`);
    console.error(`[gpudev] next: ${hint}`);
    process.exit(1);
  }
}

const hasNvidiaDriver = () =>
  (process.env.PATH ?? '').split(':').some((dir) => dir && fs.existsSync(path.join(dir, 'nvidia-smi')));

async function wantsLab() {
  if (process.argv.includes('--lab')) return true;
  if (hasNvidiaDriver()) return false;
  if (!process.stdin.isTTY) {
    say('this machine has no NVIDIA driver: `npm start -- --lab` tries the product on a simulated GPU server');
    return false;
  }
  const prompt = readline.createInterface({ input: process.stdin, output: process.stdout });
  const answer = await prompt.question(
    '[gpudev] This machine has no NVIDIA driver. Start the demo lab (simulated 8×H100 SSH host, Docker, Slurm)? [Y/n] ',
  );
  prompt.close();
  return !/^n/i.test(answer.trim());
}

/** The profile's User settings with `settings` over them (what the user set there stays). */
function mergeUserSettings(userDataDir, settings) {
  let existing = {};
  try {
    existing = JSON.parse(fs.readFileSync(path.join(userDataDir, 'User/settings.json'), 'utf8'));
  } catch {
    /* first run, or not JSON: start again */
  }
  writeUserSettings(userDataDir, { ...existing, ...settings });
}

await step(
  'building the extension package (.vsix)',
  'run `npm ci` in the checkout, then `npm run package` to see the build alone',
  () => execFileSync('npm', ['run', '--silent', 'package'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] }),
);
const lab = await wantsLab();
if (lab)
  await step(
    'starting the demo lab (gpudev lab up)',
    '`node dist/cli.js lab status` says what runs; `node dist/cli.js lab down` and try again',
    () => execFileSync(process.execPath, [path.join(repoRoot, 'dist/cli.js'), 'lab', 'up'], { stdio: 'inherit' }),
  );
const codeServer = await step(
  'checking code-server (the first run installs Debian packages, Node 24 and code-server: a few minutes)',
  'check that the npm registry answers (`npm ping`) and is trusted (NODE_EXTRA_CA_CERTS or `npm config get cafile`), then run npm start again',
  () => ensureCodeServer(),
);
const profile = path.join(cache, lab ? 'start-lab' : 'start');
const extensionsDir = path.join(profile, 'extensions');
await step('installing the extension into code-server', 'remove the folder ' + extensionsDir + ' and try again', () =>
  installExtension(codeServer, path.join(repoRoot, 'dist/gpu-devenv.vsix'), extensionsDir),
);
const userDataDir = path.join(profile, 'user-data');
if (lab)
  // The lab's own profile: its folder is trusted (this profile opens only the lab) and the machine-scoped
  // gpuDev.hosts/gpuDev.clusters, read only from User settings, point at the lab.
  mergeUserSettings(userDataDir, {
    ...JSON.parse(fs.readFileSync(path.join(labDir, 'settings.json'), 'utf8')),
    'security.workspace.trust.enabled': false,
    'workbench.startupEditor': 'none',
  });
const hostProfile = path.join(labDir, 'host-profile.json');
const env = lab && fs.existsSync(hostProfile) ? { ...process.env, GPUDEV_TEST_HOST_PROFILE: hostProfile } : process.env;
const port = Number(process.env.PORT) || (await freePort());
const folder = lab ? path.join(labDir, 'workspace') : path.resolve(process.env.INIT_CWD ?? process.cwd());
const server = await step(
  `starting code-server on 127.0.0.1:${port}`,
  'another program may hold the port: PORT=<free port> npm start',
  () => startCodeServer(codeServer, { port, userDataDir, extensionsDir, folder, env }),
);
say(`ready: open ${server.url}${lab ? ' (LAB.md in the folder is the tour)' : ''}`);
say(lab ? 'press Ctrl+C to stop code-server; `node dist/cli.js lab down` stops the lab' : 'press Ctrl+C to stop');
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => void server.stop().then(() => process.exit(0)));

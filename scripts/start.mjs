// `npm start`: try the extension without VS Code. Builds the .vsix, installs code-server (first run
// only, cached outside the clone), installs the .vsix, opens the folder npm was run from, prints the URL.
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureCodeServer, freePort, installExtension, repoRoot, startCodeServer } from './codeServer.mjs';

const cache = process.env.GPUDEV_CACHE ?? path.join(os.homedir(), '.cache/gpudev');
const folder = path.resolve(process.env.INIT_CWD ?? process.cwd());
const step = (text) => console.log(`[gpudev] ${text}`);

step('building the extension package (.vsix)…');
execFileSync('npm', ['run', '--silent', 'package'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
step('checking code-server (the first run installs it: a few minutes)…');
const codeServer = ensureCodeServer();
const extensionsDir = path.join(cache, 'start/extensions');
step('installing the extension into code-server…');
installExtension(codeServer, path.join(repoRoot, 'dist/gpu-devenv.vsix'), extensionsDir);
const port = Number(process.env.PORT) || (await freePort());
step(`starting code-server on 127.0.0.1:${port}…`);
const server = await startCodeServer(codeServer, {
  port,
  userDataDir: path.join(cache, 'start/user-data'),
  extensionsDir,
  folder,
});
step(`ready: open ${server.url}`);
step('press Ctrl+C to stop');
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => void server.stop().then(() => process.exit(0)));

// VS Code's proxy support applied to this process's `http` module, as the extension host does it:
// @vscode/proxy-agent's createHttpPatch, from the copy inside the code-server that the e2e tier
// installs (test/infra/code-server.sh), so the test runs the very code the extension meets.
import type * as Http from 'node:http';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { repoRoot } from '../unit/fixtures';

export type ProxySupport = 'override' | 'fallback' | 'on' | 'off';

interface ProxyAgentModule {
  LogLevel: { Off: number };
  createHttpPatch(params: object, originals: object, resolveProxy: unknown): { get: unknown; request: unknown };
}

/** The @vscode/proxy-agent folder of the code-server the e2e tier uses; installs it when missing. */
export function vscodeProxyAgentDir(): string {
  const out = execFileSync('bash', [path.join(repoRoot, 'test/infra/code-server.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const dir = path.join(
    out.trim().split('\n').at(-1)!,
    'node_modules/code-server/lib/vscode/node_modules/@vscode/proxy-agent',
  );
  if (!fs.existsSync(path.join(dir, 'package.json'))) throw new Error(`no @vscode/proxy-agent in ${dir}`);
  return dir;
}

/**
 * Patches Node's `http` (the module object every `require('http')` gets, dockerode's included) with
 * VS Code's proxy support, no proxy configured (resolves DIRECT, as on a machine without one);
 * returns the function that puts the originals back.
 */
export function patchHttpLikeVsCode(proxyAgentDir: string, support: () => ProxySupport): () => void {
  const load = createRequire(__filename);
  const agent = load(proxyAgentDir) as ProxyAgentModule;
  const http = load('node:http') as typeof Http;
  const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };
  const params = {
    log: quiet,
    getLogLevel: () => agent.LogLevel.Off,
    getProxySupport: support,
    lookupProxyAuthorization: undefined,
    addCertificatesV1: () => false,
    addCertificatesV2: () => false,
    loadSystemCertificatesFromNode: () => false,
    loadAdditionalCertificates: () => Promise.resolve([]),
  };
  // What VS Code's resolver answers on a machine without a proxy (its own one arms a 10-minute
  // telemetry timer that would keep mocha running).
  const direct = (_flags: unknown, _req: unknown, _opts: unknown, _url: string, callback: (proxy: string) => void) =>
    callback('DIRECT');
  const originals = { get: http.get, request: http.request };
  Object.assign(http, agent.createHttpPatch(params, { ...http }, direct));
  return () => void Object.assign(http, originals);
}

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import { dockerOptions, forwardingAgent, FORWARDED_SOCKET_PLACEHOLDER } from '../../src/hosts/dockerConnection';

const keepsAlive = (agent: unknown) => (agent as { keepAlive?: boolean }).keepAlive;

describe('Docker connections (dockerode options)', () => {
  let dir: string;
  let server: http.Server;
  let socketPath: string;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-docker-connection-'));
    socketPath = path.join(dir, 'engine.sock');
    server = http.createServer((req, res) => res.end(`${req.method} ${req.url}`));
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  });
  after(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a local engine: its socket, an agent that is never kept alive', () => {
    const options = dockerOptions({ kind: 'local', label: 'here', socketPath: '/run/docker.sock' }) as {
      socketPath: string;
      agent: http.Agent;
    };
    assert.equal(options.socketPath, '/run/docker.sock');
    assert.equal(keepsAlive(options.agent), false);
  });

  it('an SSH engine: a placeholder socketPath (so VS Code never proxies it) and the forwarding agent', () => {
    const options = dockerOptions({
      kind: 'ssh',
      label: 'lab',
      socketPath: '/var/run/docker.sock',
      connect: () => Promise.reject(new Error('unused')),
    }) as { socketPath: string; agent: http.Agent; host?: string };
    assert.equal(options.socketPath, FORWARDED_SOCKET_PLACEHOLDER);
    assert.equal(options.host, undefined);
    assert.equal(keepsAlive(options.agent), false);
  });

  it('each request gets its own stream from connect (never pooled)', async () => {
    const streams: Duplex[] = [];
    // allowHalfOpen, as ssh2's channels are: only the agent ends our side.
    const agent = forwardingAgent(() => {
      const s = net.connect({ path: socketPath, allowHalfOpen: true });
      streams.push(s);
      return Promise.resolve(s);
    });
    const get = (url: string) =>
      new Promise<string>((resolve, reject) => {
        http
          .get({ socketPath: FORWARDED_SOCKET_PLACEHOLDER, path: url, agent }, (res) => {
            let body = '';
            res.on('data', (b: Buffer) => {
              body += b.toString();
            });
            res.on('end', () => resolve(body));
          })
          .on('error', reject);
      });
    assert.equal(await get('/_ping'), 'GET /_ping');
    assert.equal(await get('/containers/json'), 'GET /containers/json');
    assert.equal(streams.length, 2);
  });

  it('a stream whose other end ended (a hijacked exec once its command exited) has its own side ended too', async () => {
    const halfClosing = net.createServer({ allowHalfOpen: true }, (socket) => socket.end('exited'));
    const halfPath = path.join(dir, 'half.sock');
    await new Promise<void>((resolve) => halfClosing.listen(halfPath, resolve));
    let stream: Duplex | undefined;
    try {
      const agent = forwardingAgent(() => Promise.resolve(net.connect({ path: halfPath, allowHalfOpen: true })));
      const { createConnection } = agent as unknown as {
        createConnection(this: void, o: object, cb: (e: Error | null, s?: Duplex) => void): void;
      };
      const opened = await new Promise<Duplex>((resolve, reject) =>
        createConnection({}, (e, s) => (e ? reject(e) : resolve(s!))),
      );
      stream = opened.resume();
      await new Promise((resolve) => opened.once('end', resolve));
      await new Promise((resolve) => setImmediate(resolve));
      assert.ok(opened.writableEnded, 'our side ended after theirs');
    } finally {
      stream?.destroy();
      halfClosing.close();
    }
  });

  it('a failed connect is the request error', async () => {
    const agent = forwardingAgent(() => Promise.reject(new Error('Docker on lab cannot be reached')));
    await assert.rejects(
      new Promise((resolve, reject) =>
        http.get({ socketPath: FORWARDED_SOCKET_PLACEHOLDER, path: '/', agent }, resolve).on('error', reject),
      ),
      /cannot be reached/,
    );
  });
});

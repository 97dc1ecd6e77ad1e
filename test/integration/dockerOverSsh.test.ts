// Docker on an SSH host: the test Docker Engine (lab/infra/dockerd.sh) reached through the loopback
// sshd (lab/infra/sshd.sh) over the host's one ssh2 connection, in plain Node and under VS Code's
// patched `http` (the extension host's proxy support), where a host-named agent used to be replaced.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { PassThrough, type Duplex } from 'node:stream';
import type Dockerode from 'dockerode';
import { connectDocker, sshDockerTarget, type DockerTarget } from '../../src/hosts/docker';
import { dockerOptions, forwardingAgent, FORWARDED_SOCKET_PLACEHOLDER } from '../../src/hosts/dockerConnection';
import { SshRunner } from '../../src/hosts/sshRunner';
import { startDockerd, stopDockerd, type Dockerd } from './dockerd';
import { startSshd, type Sshd } from './sshd';
import { patchHttpLikeVsCode, vscodeProxyAgentDir, type ProxySupport } from './vscodeProxyPatch';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const Docker = require('dockerode') as typeof Dockerode;
const LABEL = 'gpudev-test.docker-over-ssh';
const CI = process.env.CI === 'true' || process.env.CI === '1';

/** The SSH target, with every stream it forwards recorded. */
function counted(target: Extract<DockerTarget, { kind: 'ssh' }>): {
  target: DockerTarget;
  streams: Duplex[];
  open: () => number;
} {
  const streams: Duplex[] = [];
  const closed = new Set<Duplex>();
  const connect = async (socketPath: string) => {
    const stream = await target.connect(socketPath);
    streams.push(stream);
    stream.once('close', () => closed.add(stream));
    return stream;
  };
  return { streams, open: () => streams.length - closed.size, target: { ...target, connect } };
}

const settled = () => new Promise((resolve) => setTimeout(resolve, 200));

/** A container from the test image with the host's /usr, running `sleep`, then `echo` in it (a hijacked exec). */
async function containerRoundTrip(docker: Dockerode, image: string): Promise<string> {
  const container = await docker.createContainer({
    Image: image,
    Cmd: ['/usr/bin/sleep', '60'],
    Labels: { [LABEL]: '1' },
    HostConfig: { Binds: ['/usr:/usr:ro', '/lib:/lib:ro', '/lib64:/lib64:ro', '/bin:/bin:ro'], NetworkMode: 'none' },
  });
  try {
    await container.start();
    const exec = await container.exec({ Cmd: ['/usr/bin/echo', 'over ssh'], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const stdout = new PassThrough();
    const chunks: Buffer[] = [];
    stdout.on('data', (b: Buffer) => chunks.push(b));
    docker.modem.demuxStream(stream, stdout, new PassThrough());
    await new Promise((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', reject);
    });
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    await container.remove({ force: true });
  }
}

describe('Docker on an SSH host (real dockerd behind the loopback sshd)', function () {
  this.timeout(60_000);
  let sshd: Sshd;
  let dockerd: Dockerd;
  let runner: SshRunner;
  let ssh: Extract<DockerTarget, { kind: 'ssh' }>;
  before(async () => {
    sshd = startSshd();
    dockerd = startDockerd();
    runner = new SshRunner({
      label: 'lab',
      host: '127.0.0.1',
      port: sshd.port,
      username: sshd.user,
      privateKey: sshd.clientKey,
      knownHosts: () => Promise.resolve([`[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`]),
    });
    ssh = sshDockerTarget(runner, dockerd.socketPath) as typeof ssh;
    const local = new Docker({ socketPath: dockerd.socketPath });
    for (const c of await local.listContainers({ all: true, filters: { label: [LABEL] } }))
      await local.getContainer(c.Id).remove({ force: true });
  });
  after(() => runner?.close());

  it('the placeholder socketPath given for an SSH engine exists nowhere here', () => {
    assert.ok(!fs.existsSync(FORWARDED_SOCKET_PLACEHOLDER));
    assert.equal((dockerOptions(ssh) as { socketPath?: string }).socketPath, FORWARDED_SOCKET_PLACEHOLDER);
  });

  it('create, start, a hijacked exec and remove go over SSH, each request on its own forwarded stream, closed after', async () => {
    const { target, streams, open } = counted(ssh);
    const docker = new Docker(dockerOptions(target));
    assert.equal(await containerRoundTrip(docker, dockerd.image), 'over ssh\n');
    await settled();
    assert.ok(streams.length >= 5, `${streams.length} forwarded streams`);
    assert.equal(open(), 0, 'every forwarded stream is closed (nothing pooled)');
  });

  it('the engine: ping and list through connectDocker, explained when the socket is missing', async () => {
    const engine = connectDocker(ssh);
    await engine.ping();
    assert.deepEqual(await engine.list(LABEL), []);
    const missing = connectDocker(sshDockerTarget(runner, '/tmp/gpudev-no-such-docker.sock'));
    await assert.rejects(
      missing.ping(),
      /Docker on lab cannot be reached at \/tmp\/gpudev-no-such-docker.sock over SSH/,
    );
  });

  it('an engine restarted between two requests: the next request opens a new stream (no EPIPE from a pooled one)', async function () {
    this.timeout(120_000);
    const engine = connectDocker(ssh);
    await engine.ping();
    stopDockerd();
    startDockerd();
    await engine.ping();
    assert.deepEqual(await engine.list(LABEL), []);
  });

  describe("inside VS Code's extension host (Node's http patched by @vscode/proxy-agent)", function () {
    let proxyAgentDir: string;
    let support: ProxySupport = 'override';
    let unpatch: (() => void) | undefined;
    before(function () {
      this.timeout(600_000); // the first run installs code-server
      try {
        proxyAgentDir = vscodeProxyAgentDir();
      } catch (error) {
        if (CI) throw error;
        console.log(
          `      skipped: code-server (and its @vscode/proxy-agent) cannot be installed here: ${(error as Error).message.split('\n')[0]}`,
        );
        this.skip();
      }
      unpatch = patchHttpLikeVsCode(proxyAgentDir, () => support);
    });
    after(() => unpatch?.());

    it('with the default "override", the old host-named agent is replaced: getaddrinfo ENOTFOUND docker (the bug)', async () => {
      support = 'override';
      const old = new Docker({
        protocol: 'http',
        host: 'docker',
        port: 80,
        agent: forwardingAgent(() => ssh.connect(ssh.socketPath)),
      } as Dockerode.DockerOptions);
      await assert.rejects(old.ping(), /getaddrinfo ENOTFOUND docker/);
    });

    for (const setting of ['override', 'fallback', 'on', 'off'] as const) {
      it(`"http.proxySupport": "${setting}": the SSH engine still goes through the forwarded socket`, async () => {
        support = setting;
        const { target, streams } = counted(ssh);
        await connectDocker(target).ping();
        assert.equal(streams.length, 1);
        if (setting === 'override')
          assert.equal(await containerRoundTrip(new Docker(dockerOptions(target)), dockerd.image), 'over ssh\n');
      });
    }

    it('the local socket still works under the patch', async () => {
      support = 'override';
      await connectDocker({ kind: 'local', label: 'test dockerd', socketPath: dockerd.socketPath }).ping();
    });
  });
});

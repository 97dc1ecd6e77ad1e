// P7: a process session over loopback, as a user who is not root (test/infra/user.sh) with the fake GPU:
// from Apply to attachable (`ssh -F our-config <alias> nvidia-smi -L` names the target through the
// session sshd, ProxyJump via the host's own sshd), then the session sshd's first connection (over the
// connections that answer shared, as after the extension's warm-up) and a cold one (nothing shared), each
// against a plain SSH connection to the host's own sshd measured in the same run.
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { builtinCatalog } from '../src/catalog/catalog';
import { newSessionName } from '../src/cosplay/apply';
import { shimArchive } from '../src/cosplay/hostProfile';
import { planCosplay } from '../src/cosplay/planner';
import { applyProcessSession, stopProcessSession } from '../src/cosplay/process/processSession';
import { LocalRunner, type Runner } from '../src/hosts/runner';
import { resolveSshTarget } from '../src/hosts/sshConfig';
import { SshRunner } from '../src/hosts/sshRunner';
import { removeSessionEntry, sessionAlias, sessionKey, writeSessionEntry } from '../src/remote/sessionHostEntry';
import { SCENARIO } from '../test/integration/fakeHost';
import { startSshd } from '../test/integration/sshd';
import { repoRoot } from '../test/unit/fixtures';

const ROUNDS = 5;
const GPU = 4;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function ssh(config: string, ...args: string[]): Promise<{ ms: number; stdout: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) =>
    execFile('ssh', ['-F', config, '-o', 'BatchMode=yes', ...args], (error, stdout, stderr) =>
      error
        ? reject(new Error(`ssh ${args.join(' ')}: ${stderr.trim() || error.message}`))
        : resolve({ ms: performance.now() - started, stdout }),
    ),
  );
}

/** Closes the session's shared connection and its jump's (ssh -O exit), as if none had been made. */
async function closeShared(config: string, alias: string): Promise<void> {
  for (const entry of [alias, `${alias}-host`]) await ssh(config, '-O', 'exit', entry).catch(() => undefined);
}

function testUser(): string {
  const out = execFileSync('bash', [path.join(repoRoot, 'test/infra/user.sh')], { encoding: 'utf8' });
  const user = /^TEST_USER=(.*)$/m.exec(out)?.[1];
  if (!user) throw new Error(`test/infra/user.sh printed no user: ${out}`);
  return user;
}

export async function processSessionBenchmark(): Promise<void> {
  const user = testUser();
  const sshd = startSshd();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-bench-process-'));
  fs.chmodSync(dir, 0o755);
  const gpuState = path.join(dir, 'gpu');
  fs.mkdirSync(gpuState, { mode: 0o777 });
  fs.chmodSync(gpuState, 0o777);
  const fakeGpu = { GPUDEV_FAKE_SMI_SCENARIO: SCENARIO, GPUDEV_FAKE_GPU_STATE: gpuState, GPUDEV_FAKE_GPU_HOST: '3' };
  // The user's own ssh config naming the host (as `ssh -G` resolves it for our entries), and ours beside it.
  const userConfig = path.join(dir, 'user_config');
  const hostName = 'p7-host';
  fs.writeFileSync(
    userConfig,
    `Host ${hostName}\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User ${user}\n  IdentityFile ${sshd.dir}/client_key\n`,
  );
  const files = { configFile: path.join(dir, 'gpudev/config'), knownHostsFile: path.join(dir, 'gpudev/known_hosts') };
  fs.mkdirSync(path.dirname(files.configFile), { mode: 0o700 });
  fs.writeFileSync(files.knownHostsFile, `[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`);
  const local = new LocalRunner();
  // The host's connection is open before Apply, as the monitor's is in the extension.
  const runner = new SshRunner({
    label: hostName,
    host: '127.0.0.1',
    port: sshd.port,
    username: user,
    privateKey: sshd.clientKey,
    knownHosts: () => Promise.resolve([`[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`]),
    env: fakeGpu,
  });
  const target = builtinCatalog().lookup('rtx3090');
  const host = builtinCatalog().lookup('h100-sxm');
  if (!target.ok || !host.ok) throw new Error('the catalog lacks rtx3090 or h100-sxm');
  const planned = planCosplay({ target: target.entry, host: host.entry, hostGpuCount: 8, strategy: 'mps' });
  if (!planned.ok) throw new Error(planned.error.message);
  const applies: number[] = [];
  const firstConnections: number[] = [];
  const coldConnections: number[] = [];
  const directConnections: number[] = [];
  const stepTimes = new Map<string, number[]>();
  const stepExecs = new Map<string, number>();
  let execs = 0;
  const addStep = (step: string, ms: number) => {
    stepTimes.set(step, [...(stepTimes.get(step) ?? []), ms]);
    stepExecs.set(step, execs);
  };
  // Every command the apply sends the host, counted per step.
  const counted: Runner = {
    label: runner.label,
    run: (argv, options) => (execs++, runner.run(argv, options)),
    hold: (argv, handlers) => (execs++, runner.hold(argv, handlers)),
  };
  try {
    await runner.run(['true']);
    for (let round = 0; round <= ROUNDS; round++) {
      const name = newSessionName('rtx3090', GPU);
      const alias = sessionAlias(hostName, name);
      const started = performance.now();
      let stepStarted = started;
      let stepName = 'archive the shim';
      const stepDone = (next: string) => {
        const now = performance.now();
        if (round > 0) addStep(stepName, now - stepStarted);
        [stepName, stepStarted, execs] = [next.replace(hostName, 'the host').replace(/\d+/g, 'N'), now, 0];
      };
      const key = await sessionKey(path.dirname(files.configFile), local);
      if ('message' in key) throw new Error(key.message);
      const outcome = await applyProcessSession(
        {
          plan: planned.plan,
          gpuIndex: GPU,
          hostLabel: hostName,
          sessionName: name,
          owner: 'bench@p7',
          shimTar: await shimArchive(repoRoot, 'shim'),
          authorizedKeys: [key.publicKey],
          extraEnv: fakeGpu,
          onStep: stepDone,
        },
        counted,
      );
      if (!outcome.ok) throw new Error(`${outcome.failedStep}: ${outcome.error.message}`);
      stepDone('write the Host entry (ssh -G, config, known_hosts)');
      const resolved = await resolveSshTarget(hostName, local, userConfig);
      if ('message' in resolved) throw new Error(resolved.message);
      const { sshd: sessionSshd } = outcome.session;
      await writeSessionEntry(alias, sessionSshd, resolved, { ...files, identity: key.file });
      stepDone('ssh -F our-config <alias> nvidia-smi -L answering');
      const listed = await ssh(files.configFile, alias, 'nvidia-smi', '-L');
      stepDone('');
      if (!/NVIDIA GeForce RTX 3090/.test(listed.stdout)) throw new Error(`not disguised: ${listed.stdout}`);
      if (round > 0) applies.push(performance.now() - started);
      // The user's first connection after Apply rides the connections the answer above shared, as it does
      // after the extension's warm-up; then, with both shared connections closed, a cold one.
      if (round > 0) firstConnections.push((await ssh(files.configFile, alias, 'true')).ms);
      await closeShared(files.configFile, alias);
      if (round > 0) coldConnections.push((await ssh(files.configFile, alias, 'true')).ms);
      await closeShared(files.configFile, alias);
      // The session sshd alone: it listens on this machine's loopback, so the hop through the host can go.
      const alone = ['-o', 'ProxyJump=none', '-o', 'ControlPath=none'];
      if (round > 0) directConnections.push((await ssh(files.configFile, ...alone, alias, 'true')).ms);
      const stopped = await stopProcessSession({ name, gpuUuid: outcome.session.gpuUuid }, runner, 'bench@p7');
      if (stopped.failure) throw new Error(`stop ${name}: ${stopped.failure}`);
      await removeSessionEntry(alias, files);
    }
    // The floor: a fresh SSH connection to the host's own sshd, the first hop of every session connection.
    fs.appendFileSync(
      files.configFile,
      `\n${fs.readFileSync(userConfig, 'utf8')}  UserKnownHostsFile ${files.knownHostsFile}\n`,
    );
    const hostHops: number[] = [];
    for (let i = 0; i <= ROUNDS; i++) {
      const { ms } = await ssh(files.configFile, hostName, 'true');
      if (i > 0) hostHops.push(ms);
    }
    const hop = median(hostHops);
    const commands: number[] = [];
    for (let i = 0; i <= ROUNDS * 4; i++) {
      const started = performance.now();
      await runner.run(['true']);
      if (i > 0) commands.push(performance.now() - started);
    }
    const apply = median(applies);
    const first = median(firstConnections);
    console.log(
      `P7 process session over loopback as ${user} (fake GPU; medians of ${ROUNDS}, each session stopped after)`,
    );
    console.log(
      `  ours : Apply → ssh <alias> nvidia-smi -L names the target   ${apply.toFixed(0).padStart(6)} ms (goal ≤ 3000 ms)`,
    );
    for (const [step, times] of stepTimes)
      console.log(
        `         ${step.padEnd(56)} ${median(times).toFixed(0).padStart(6)} ms${stepExecs.get(step) ? `  (${stepExecs.get(step)} host commands)` : ''}`,
      );
    console.log(
      `  ours : the session sshd's first connection (ssh <alias> true) ${first.toFixed(0).padStart(6)} ms (goal ≤ 300 ms)`,
    );
    console.log(
      `         over the connections Apply's warm-up shared (ControlMaster); cold, nothing shared ${median(coldConnections).toFixed(0).padStart(6)} ms`,
    );
    console.log(
      `         the session sshd alone (ssh -o ProxyJump=none <alias> true) ${median(directConnections).toFixed(0).padStart(6)} ms`,
    );
    console.log(`  floor: a fresh ssh to the host's own sshd (ssh host true)   ${hop.toFixed(0).padStart(6)} ms`);
    console.log(
      `  one  : a command on the host's open connection (exec true)  ${median(commands).toFixed(0).padStart(6)} ms`,
    );
    console.log(
      `  ratio: Apply to attachable is ${(apply / hop).toFixed(1)}x one SSH connection; the session's first connection ${(first / hop).toFixed(2)}x one, a cold one (two hops) ${(median(coldConnections) / hop).toFixed(2)}x\n`,
    );
  } finally {
    runner.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

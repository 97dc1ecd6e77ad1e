// One host GPU of an apply, under its lock: the originals read, the conflicts refused (naming the GPU
// and who holds it), then each change journalled on the host before it is made. A multi-GPU session
// has one of these per GPU, each with its own journal record; the first GPU's record holds the container.
import type { GpuDevError } from '../core/errors';
import type { Runner } from '../hosts/runner';
import type { ApplyRequest } from './apply';
import { busyByOthers } from './busyGpu';
import { makeCommand, type Change } from './changes';
import { createdGpuInstance, memoryClockAtMost, migUuidsOf, runHostCommand } from './hostCommands';
import type { HostJournal } from './hostJournal';
import { clashWith, type GpuJournal } from './journal';
import { concreteChange, sessionPlanOf, wantedSettings } from './journalTerms';
import type { PlannedGpu } from './multiPlan';
import type { CosplayPlan, HostMutation } from './planner';

export class StepFailure extends Error {
  constructor(readonly error: GpuDevError) {
    super(error.message);
  }
}

/** A value, or the error it is thrown as. */
export const check = <T extends object>(value: T | GpuDevError): T => {
  if ('message' in value && typeof value.message === 'string') throw new StepFailure(value);
  return value as T;
};

export interface ApplyStep {
  readonly runner: Runner;
  /** What of the apply's request a GPU's steps use (a process session's root-only steps give just these). */
  readonly request: Pick<ApplyRequest, 'sessionName' | 'owner' | 'hostLabel' | 'sudo' | 'confirmBusy' | 'pauseMonitor'>;
  readonly store: HostJournal;
  /** Starts a step (says it; throws when cancelled). */
  readonly begin: (description: string) => void;
  /** A host command's stdout, or a StepFailure. */
  readonly host: (args: readonly string[]) => Promise<string>;
}

export class GpuApply {
  /** The GPU's journal as last written: what a rollback restores from. */
  current: GpuJournal | undefined;
  /** The GPU or MIG devices this GPU gives the container. */
  readonly devices: string[] = [];
  private changes: HostMutation[] = [];
  private originals = { persistence: false, migMode: false, originalWatts: 0, memoryMHz: null as number | null };

  constructor(
    readonly gpu: PlannedGpu,
    readonly uuid: string,
    /** Every GPU of the session, by UUID, in the session's order (only for sessions of several). */
    private readonly sessionGpus: readonly string[],
    private readonly step: ApplyStep,
  ) {}

  get plan(): CosplayPlan {
    return this.gpu.plan;
  }

  /** Under the GPU's lock: reads the journal and the originals; refuses clashes and (unless confirmed) other users' work. */
  async prepare(): Promise<void> {
    const { plan, uuid, step } = this;
    const index = this.gpu.gpuIndex;
    this.current = check(await step.store.read(uuid));
    const [powerLimit, persistence, migMode] = (
      await step.host([
        'nvidia-smi',
        '-i',
        uuid,
        '--query-gpu=power.limit,persistence_mode,mig.mode.current',
        '--format=csv,noheader,nounits',
      ])
    )
      .trim()
      .split(/\s*,\s*/);
    const originalWatts = Math.round(Number(powerLimit));
    if (plan.mutations.some((m) => m.change.kind === 'powerCap') && !(originalWatts > 0))
      throw new StepFailure({
        message: `GPU ${index} does not report its power limit (${powerLimit ?? 'nothing'}), so a cap could not be undone`,
        hint: 'plan with a host whose power limit can be read',
      });
    const memoryMHz = await this.memoryClock();
    this.originals = {
      persistence: persistence === 'Enabled',
      migMode: migMode === 'Enabled',
      originalWatts,
      memoryMHz,
    };
    const clash = clashWith(this.current, wantedSettings(plan, memoryMHz));
    if (clash)
      throw new StepFailure(
        this.sessionGpus.length > 1 ? { ...clash, message: `GPU ${index}: ${clash.message}` } : clash,
      );
    const joining = this.current.sessions.length > 0;
    // One MPS daemon serves every GPU of the session: the first GPU's record holds it.
    const primary = this.sessionGpus.length === 0 || this.sessionGpus[0] === uuid;
    this.changes = plan.mutations.filter(
      (m) => !(m.gpuWide && joining) && !(m.change.kind === 'mpsDaemon' && !primary),
    );
    if (this.changes.some((m) => m.gpuWide)) await this.refuseIfBusy();
  }

  /** Records the session in the GPU's journal, then makes each change, journalled before and after. */
  async make(): Promise<string[]> {
    const { request, store, begin } = this.step;
    const name = request.sessionName;
    await this.save({
      ...this.current!,
      sessions: [
        ...this.current!.sessions,
        {
          name,
          owner: request.owner,
          startedAt: new Date().toISOString(),
          hostLabel: request.hostLabel,
          gpuIndex: this.gpu.gpuIndex,
          plan: {
            ...sessionPlanOf(this.plan, this.uuid),
            ...(this.sessionGpus.length > 1 && { gpus: [...this.sessionGpus] }),
          },
          steps: [],
        },
      ],
    });
    for (const mutation of this.changes) {
      begin(this.sessionGpus.length > 1 ? `GPU ${this.gpu.gpuIndex}: ${mutation.description}` : mutation.description);
      let change = concreteChange(mutation, { ...this.originals, mpsFolder: `${store.mpsRoot}/${name}` });
      await this.record(mutation, change, 'intended');
      if (change.kind === 'mpsDaemon')
        await this.step.host(['mkdir', '-p', '-m', '0700', '--', `${change.folder}/pipe`, `${change.folder}/log`]);
      const index = this.gpu.gpuIndex;
      const before = change.kind === 'gpuInstance' ? migUuidsOf(await this.step.host(['nvidia-smi', '-L']), index) : [];
      const resume = change.kind === 'migMode' ? request.pauseMonitor?.() : undefined;
      const stdout = await runHostCommand(this.step.runner, makeCommand(change, this.uuid)!, request.sudo).finally(() =>
        resume?.(),
      );
      if (!stdout.ok) throw new StepFailure(stdout.error);
      if (change.kind !== 'gpuInstance') {
        await this.record(mutation, change, 'done');
        continue;
      }
      const gi = createdGpuInstance(stdout.stdout);
      if (gi === null)
        throw new StepFailure({
          message: `nvidia-smi did not say which GPU instance it created: ${stdout.stdout.trim().slice(0, 200)}`,
        });
      const created = migUuidsOf(await this.step.host(['nvidia-smi', '-L']), index).filter((u) => !before.includes(u));
      change = { ...change, gi: Number(gi), ...(created.length === 1 && { migUuid: created[0] }) };
      await this.record(mutation, change, 'done');
      if (created.length !== 1)
        throw new StepFailure({ message: `expected one new MIG device on GPU ${index}, found ${created.length}` });
      this.devices.push(created[0]!);
    }
    if (!this.plan.chosen.migProfile) this.devices.push(this.uuid);
    await this.save({
      ...this.current!,
      sessions: this.current!.sessions.map((s) =>
        s.name === name ? { ...s, plan: { ...s.plan, device: this.devices.join(',') } } : s,
      ),
    });
    return this.devices;
  }

  /** The session's own record in this GPU's journal. */
  get ownRecord(): GpuJournal['sessions'][number] | undefined {
    return this.current?.sessions.find((s) => s.name === this.step.request.sessionName);
  }

  async save(next: GpuJournal): Promise<void> {
    this.current = next;
    const failed = await this.step.store.write(next);
    if (failed) throw new StepFailure(failed);
  }

  /** Journals a change: intended before it is made, done (replacing that entry) after. */
  async record(mutation: HostMutation | null, change: Change, state: 'intended' | 'done'): Promise<void> {
    const at = new Date().toISOString();
    const current = this.current!;
    const name = this.step.request.sessionName;
    const replaceLast = state === 'done';
    if (mutation?.gpuWide) {
      const gpuWide = replaceLast
        ? [...current.gpuWide.slice(0, -1), { change, state, at, by: name }]
        : [...current.gpuWide, { change, state, at, by: name }];
      return this.save({ ...current, gpuWide });
    }
    const session = this.ownRecord!;
    const steps = replaceLast
      ? [...session.steps.slice(0, -1), { change, state, at }]
      : [...session.steps, { change, state, at }];
    return this.save({ ...current, sessions: current.sessions.map((s) => (s.name === name ? { ...s, steps } : s)) });
  }

  /** What the session changes on this GPU, in the user's words. */
  descriptions(): string[] {
    return this.changes.map((m) =>
      this.sessionGpus.length > 1 ? `GPU ${this.gpu.gpuIndex}: ${m.description}` : m.description,
    );
  }

  /** The memory clock to lock (MHz), read from the GPU's supported clocks, when the plan locks one. */
  private async memoryClock(): Promise<number | null> {
    const planned = this.plan.mutations.find((m) => m.change.kind === 'memoryClockLock')?.change;
    if (planned?.kind !== 'memoryClockLock') return null;
    const clock = memoryClockAtMost(
      await this.step.host([
        'nvidia-smi',
        '-i',
        this.uuid,
        '--query-supported-clocks=memory',
        '--format=csv,noheader,nounits',
      ]),
      planned.percent,
    );
    if (clock === null) throw new StepFailure({ message: `GPU ${this.uuid} reports no supported memory clocks` });
    return clock;
  }

  private async refuseIfBusy(): Promise<void> {
    const busy = check(await busyByOthers(this.step.runner, this.uuid));
    if (!busy.length) return;
    if (await this.step.request.confirmBusy?.(busy)) return;
    throw new StepFailure({
      message: `GPU ${this.gpu.gpuIndex} has processes of other users: ${busy.map((p) => `${p.pid} (${p.user ?? 'owner unknown'}, ${p.name})`).join(', ')}; changing its MIG mode, clocks or power would affect them`,
      hint: 'wait until they finish, pick another GPU, or go on anyway (--force)',
    });
  }
}

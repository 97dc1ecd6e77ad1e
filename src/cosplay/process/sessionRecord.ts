// A process session's record in its GPU's journal as last written (what a rollback restores from), and
// its steps journalled one write at a time: a step done goes in with the next one intended.
import { StepFailure } from '../applyGpu';
import type { Change } from '../changes';
import type { HostJournal } from '../hostJournal';
import type { GpuJournal, JournalSession, Step } from '../journal';

export class SessionRecord {
  constructor(
    private readonly store: HostJournal,
    public current: GpuJournal,
    private readonly name: string,
  ) {}

  /** Records the session in the GPU's journal, with its first steps. */
  create(record: Omit<JournalSession, 'name' | 'startedAt'>): Promise<void> {
    return this.save({
      ...this.current,
      sessions: [...this.current.sessions, { name: this.name, startedAt: new Date().toISOString(), ...record }],
    });
  }

  async save(next: GpuJournal): Promise<void> {
    this.current = next;
    const failed = await this.store.write(next);
    if (failed) throw new StepFailure(failed);
  }

  /** One write (a round trip): the steps in progress marked done and `change` recorded as intended; or, `done`, in place of the last. */
  next(change: Change, state: 'intended' | 'done' = 'intended'): Promise<void> {
    const at = new Date().toISOString();
    const steps = (s: readonly Step[]): Step[] =>
      state === 'done'
        ? [...s.slice(0, -1), { change, state, at }]
        : [...s.map((t) => (t.state === 'intended' ? { ...t, state: 'done' as const, at } : t)), { change, state, at }];
    return this.save({
      ...this.current,
      sessions: this.current.sessions.map((s) => (s.name === this.name ? { ...s, steps: steps(s.steps) } : s)),
    });
  }
}

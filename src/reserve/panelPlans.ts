// The reservation panel's dry runs on the extension side: which plan the table on screen was computed
// for, so that Submit and Race act on that plan only, and at most once.

interface Plan<T> {
  readonly id: number;
  readonly value: T;
  /** A submit or race under way, or the job ids one made. */
  state: 'open' | 'submitting' | { readonly jobIds: readonly string[] };
}

export class PanelPlans<T> {
  private latest = 0;
  private plan: Plan<T> | undefined;

  /** A new dry run: the plan on screen is dropped at once (whatever the new one's fate); the new one's id. */
  begin(): number {
    this.plan = undefined;
    return ++this.latest;
  }

  /** The dry run `id` ended with `value`; false when a newer dry run began meanwhile (its table is not shown). */
  settle(id: number, value: T): boolean {
    if (id !== this.latest) return false;
    this.plan = { id, value, state: 'open' };
    return true;
  }

  /** The plan `id` to submit (marked under way), or why it may not be. */
  take(id: number): T | { readonly refused: string } {
    const plan = this.plan;
    if (!plan || plan.id !== id)
      return { refused: 'That table is not the latest dry run: run Dry Run again, then Submit.' };
    if (plan.state === 'submitting') return { refused: 'This plan is being submitted already.' };
    if (plan.state !== 'open')
      return {
        refused: `This plan was submitted already (job ${plan.state.jobIds.join(', ')}): run Dry Run again to reserve more.`,
      };
    plan.state = 'submitting';
    return plan.value;
  }

  /** The submit of plan `id` ended: its job ids, or none when it failed (the plan may be submitted again). */
  finish(id: number, jobIds: readonly string[] | undefined): void {
    if (this.plan?.id !== id) return;
    this.plan.state = jobIds?.length ? { jobIds } : 'open';
  }
}

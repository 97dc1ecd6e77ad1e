// Why a job waits, in words: squeue's %r reason codes (squeue(1) "JOB REASON CODES",
// https://slurm.schedmd.com/job_reason_codes.html) as a user reads them.

const EXACT: Readonly<Record<string, string>> = {
  None: 'waiting to be scheduled',
  WaitingForScheduling: 'waiting to be scheduled',
  Resources: 'waiting for resources (the GPUs are in use)',
  Priority: 'waiting for priority (jobs ahead of it in the queue)',
  Dependency: 'waiting for another job it depends on',
  DependencyNeverSatisfied: 'will never start: the job it depends on can no longer satisfy it',
  BeginTime: 'waiting for its start time',
  Cleaning: 'requeued, still cleaning up its previous run',
  Prolog: "waiting for the cluster's prolog to finish",
  Reservation: 'waiting for its advance reservation to begin',
  Licenses: 'waiting for a license',
  JobHeldUser: 'held by you (scontrol release to let it start)',
  JobHeldAdmin: 'held by an administrator',
  BadConstraints: 'cannot start: its constraints cannot be satisfied',
  InvalidAccount: 'cannot start: its account is not valid',
  InvalidQOS: 'cannot start: its QOS is not valid',
  AccountNotAllowed: 'cannot start: its account may not use this partition',
  NodeDown: 'waiting: a node it needs is down',
  ReqNodeNotAvail: 'waiting: a node it needs is not available (in use, reserved, down or drained)',
  PartitionDown: 'waiting: its partition is down',
  PartitionInactive: 'waiting: its partition is inactive',
  PartitionNodeLimit: "waiting: it asks for more nodes than its partition's limit allows (or they are down)",
  PartitionTimeLimit: "cannot start: its time limit is over the partition's",
  FrontEndDown: 'waiting: no front-end node is available',
  JobLaunchFailure: 'could not be launched',
  SystemFailure: 'held back by a failure of Slurm, a file system or the network',
  AssociationJobLimit: 'waiting: your account has reached its limit on jobs',
  AssociationResourceLimit: 'waiting: your account has reached a resource limit',
  AssociationTimeLimit: 'waiting: your account has reached its time limit',
  QOSJobLimit: 'waiting: its QOS has reached its limit on jobs',
  QOSResourceLimit: 'waiting: its QOS has reached a resource limit',
  QOSTimeLimit: 'waiting: its QOS has reached its time limit',
  QOSUsageThreshold: "waiting: its QOS's usage threshold is breached",
  NonZeroExitCode: 'ended with a non-zero exit code',
  TimeLimit: 'reached its time limit',
  InactiveLimit: "reached the cluster's inactivity limit",
};

/** Families of codes named by a prefix and the resource: AssocGrpGRES, QOSMaxCpuPerJobLimit, MaxGRESPerAccount… */
const FAMILIES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^AssocGrp(\w*?)(?:Limit)?$/, 'waiting: your account has reached a group limit'],
  [/^AssocMax(\w*?)(?:Limit)?$/, "cannot start as asked: over your account's per-job limit"],
  [/^QOSGrp(\w*?)(?:Limit)?$/, 'waiting: its QOS has reached a group limit'],
  [/^QOSMax(\w*?)(?:Limit)?$/, "cannot start as asked: over its QOS's per-job limit"],
  [/^Max(\w*?)PerAccount$/, 'waiting: over the per-account limit of its QOS'],
];

/** "GRESMinutes" → "GRES minutes", "CpuPerUser" → "cpu per user". */
const spaced = (name: string) =>
  name
    .split(/(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])/)
    .map((word) => (/^[A-Z]+$/.test(word) ? word : word.toLowerCase()))
    .join(' ');

/**
 * The words for squeue's reason of a job: '' for a job that is not pending and has none ("None"); a
 * pending job's "None" is "waiting to be scheduled"; a code not known here keeps its name.
 */
export function describeReason(state: string, code: string): string {
  const reason = code.trim();
  if (!reason || (reason === 'None' && state !== 'PENDING')) return '';
  const exact = EXACT[reason];
  if (exact) return exact;
  for (const [pattern, words] of FAMILIES) {
    const match = pattern.exec(reason);
    if (match) return `${words}${match[1] ? ` on ${spaced(match[1])}` : ''} (${reason})`;
  }
  return state === 'PENDING' ? `waiting (${reason})` : reason;
}

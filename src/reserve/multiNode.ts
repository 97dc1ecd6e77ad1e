// A run across every node of a multi-node reservation: one srun task per node, each told its place the
// way torchrun, accelerate and deepspeed expect it (node count, node rank, the first node's address and
// port), worked out in the task itself from Slurm's SLURM_NODEID and the job's env file.

/** The words each launcher takes for a multi-node run, as sh expands them in the task; the options that mean the user gave them. */
interface LauncherOptions {
  readonly words: readonly string[];
  readonly given: RegExp;
  /** Options that keep the launcher on one node. */
  readonly singleNode?: RegExp;
}

const LAUNCHERS: Readonly<Record<'torchrun' | 'accelerate' | 'deepspeed', LauncherOptions>> = {
  torchrun: {
    words: [
      '--nnodes="$NNODES"',
      '--node_rank="$NODE_RANK"',
      '--master_addr="$MASTER_ADDR"',
      '--master_port="$MASTER_PORT"',
    ],
    given: /^--(nnodes|node[_-]rank|master[_-]addr|master[_-]port|rdzv[_-](endpoint|backend|id))(=|$)/,
    singleNode: /^--standalone$/,
  },
  accelerate: {
    words: [
      '--num_machines="$NNODES"',
      '--machine_rank="$NODE_RANK"',
      '--main_process_ip="$MASTER_ADDR"',
      '--main_process_port="$MASTER_PORT"',
    ],
    given: /^--(num[_-]machines|machine[_-]rank|main[_-]process[_-](ip|port))(=|$)/,
  },
  deepspeed: {
    // Without --no_ssh deepspeed would start every node's processes itself over pdsh from a hostfile.
    words: [
      '--num_nodes="$NNODES"',
      '--node_rank="$NODE_RANK"',
      '--master_addr="$MASTER_ADDR"',
      '--master_port="$MASTER_PORT"',
      '--no_ssh',
    ],
    given: /^--(num[_-]nodes|node[_-]rank|master[_-]addr|master[_-]port|hostfile|no[_-]ssh)(=|$)|^-H$/,
    singleNode: /^--(include|exclude)(=|$)/,
  },
};

const baseName = (word: string) => word.replace(/^.*\//, '');

/** Which launcher argv starts (after `env A=B`), and where its own options begin. */
function launcherOf(argv: readonly string[]): { name: keyof typeof LAUNCHERS; optionsAt: number } | undefined {
  let start = 0;
  if (baseName(argv[0] ?? '') === 'env') for (start = 1; /^\w+=/.test(argv[start] ?? ''); start++);
  const program = baseName(argv[start] ?? '');
  if (program === 'torchrun') return { name: 'torchrun', optionsAt: start + 1 };
  if (program === 'deepspeed') return { name: 'deepspeed', optionsAt: start + 1 };
  if (program === 'accelerate' && argv[start + 1] === 'launch') return { name: 'accelerate', optionsAt: start + 2 };
  if (
    /^python(\d+(\.\d+)?)?$/.test(program) &&
    argv[start + 1] === '-m' &&
    ['torch.distributed.run', 'torch.distributed.launch'].includes(argv[start + 2] ?? '')
  )
    return { name: 'torchrun', optionsAt: start + 3 };
  return undefined;
}

/** The launcher's own options: up to its script (`train.py`), `-m`'s module or `--`. */
function launcherOptions(command: readonly string[], from: number): string[] {
  const own: string[] = [];
  for (let i = from; i < command.length; i++) {
    const word = command[i]!;
    if (word === '--' || /\.(py|sh)$/.test(word)) break;
    if (word.startsWith('-')) own.push(word);
    if (word === '-m' || word === '--module') break;
  }
  return own;
}

export interface MultiNodeLaunch {
  /** Where in the command the launcher's words go (-1: none, a plain command runs once per node as it is). */
  readonly insertAt: number;
  /** Shell words, expanded in each task after the env file: only variable names, never the user's text. */
  readonly words: readonly string[];
  readonly launcher?: string;
}

/** What a multi-node run adds to the command, or why it cannot run on several nodes. */
export function multiNodeLaunch(command: readonly string[], nodes: number): MultiNodeLaunch | { problem: string } {
  const found = launcherOf(command);
  if (!found) return { insertAt: -1, words: [] };
  const options = LAUNCHERS[found.name];
  const own = launcherOptions(command, found.optionsAt);
  const single = options.singleNode && own.find((word) => options.singleNode!.test(word));
  if (single)
    return {
      problem: `${single} keeps ${found.name} on one node, but the job has ${nodes} nodes: leave it out, gpudev gives each node its rank`,
    };
  if (own.some((word) => options.given.test(word))) return { insertAt: -1, words: [], launcher: found.name };
  return { insertAt: found.optionsAt, words: options.words, launcher: found.name };
}

/** The srun options of one task per node of an N-node job. */
export function multiNodeSrun(nodes: number): string[] {
  return [`--nodes=${nodes}`, `--ntasks=${nodes}`, '--ntasks-per-node=1', '--kill-on-bad-exit=1', '--label'];
}

/**
 * What each task runs (`sh -c <it> gpudev-run <env file> <folder> <insertAt> <command…>`): into the synced
 * folder (which the node must share with the login node), the env file sourced, NODE_RANK and NNODES from
 * the step, the launcher's words put in at insertAt, then the command.
 */
export function multiNodeTask(words: readonly string[]): string {
  return [
    'f=$1; d=$2; k=$3; shift 3',
    `cd "$d" || { echo "gpudev: $(hostname) has no folder $d: the sync went to the login node's file system, which this node does not share" >&2; exit 1; }`,
    '[ -r "$f" ] && . "$f"',
    'export NODE_RANK=$SLURM_NODEID NNODES=${SLURM_STEP_NUM_NODES:-$NNODES}',
    `n=0; for a do shift; [ $n = $k ] && set -- "$@" ${words.join(' ')}; set -- "$@" "$a"; n=$((n + 1)); done`,
    'exec "$@"',
  ].join('; ');
}

// The GPUs a holder job really got: it records `nvidia-smi --query-gpu=name,memory.total,uuid` of its
// nodes in its job folder (~/.gpudev/jobs/<job>/gpus-<node>.csv); the watch reads them back with squeue.

export interface RecordedGpu {
  readonly node: string;
  /** As NVML names it ("NVIDIA A100-SXM4-80GB"). */
  readonly name: string;
  readonly memoryMiB: number | null;
  readonly uuid: string;
}

const QUERY = 'nvidia-smi --query-gpu=name,memory.total,uuid --format=csv,noheader,nounits';
const MARK = '@@gpudev-gpus';

/** Holder-job lines: every node's GPUs, written whole (a reader never sees half a file). */
export const RECORD_GPUS = [
  'g="$HOME/.gpudev/jobs/$SLURM_JOB_ID"',
  `record='${QUERY} >"$0/.gpus-$(hostname -s)" 2>/dev/null && mv "$0/.gpus-$(hostname -s)" "$0/gpus-$(hostname -s).csv"'`,
  'if [ "${SLURM_JOB_NUM_NODES:-1}" -gt 1 ]; then',
  '  srun --overlap --ntasks-per-node=1 -N "$SLURM_JOB_NUM_NODES" sh -c "$record" "$g" >/dev/null 2>&1 &',
  'else',
  '  sh -c "$record" "$g" &',
  'fi',
];

/** List-script lines: each recorded file, marked with its path. */
export const RECORDED_GPUS_LINES = [
  `for f in "$HOME"/.gpudev/jobs/*/gpus-*.csv; do [ -f "$f" ] && { printf '%s %s\\n' '${MARK}' "$f"; cat "$f"; }; done`,
  'true',
];

/** Recorded GPUs per job id, from the list script's output (lines that do not parse are left out). */
export function parseRecordedGpus(output: string): Map<string, RecordedGpu[]> {
  const byJob = new Map<string, RecordedGpu[]>();
  let current: { jobId: string; node: string } | undefined;
  for (const line of output.split('\n')) {
    if (line.startsWith(`${MARK} `)) {
      const match = /\/\.gpudev\/jobs\/(\d+)\/gpus-([\w.-]+)\.csv$/.exec(line);
      current = match ? { jobId: match[1]!, node: match[2]! } : undefined;
      continue;
    }
    const fields = line.split(',').map((f) => f.trim());
    if (!current || fields.length !== 3 || !fields[0] || !/^GPU-[\w-]+$|^MIG-[\w/-]+$/.test(fields[2]!)) {
      if (!line.includes(',')) current = undefined;
      continue;
    }
    const memory = /^\d+$/.test(fields[1]!) ? Number(fields[1]) : null;
    const gpus = byJob.get(current.jobId) ?? [];
    gpus.push({ node: current.node, name: fields[0].slice(0, 100), memoryMiB: memory, uuid: fields[2]! });
    byJob.set(current.jobId, gpus);
  }
  return byJob;
}

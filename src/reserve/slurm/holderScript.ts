// The holder job's batch script: the job's environment file, its GPUs recorded, an sshd for job-sshd
// attach, and a sleep that keeps the allocation.
import { quoteArg } from '../../hosts/shellQuote';
import { RECORD_GPUS } from './recordedGpus';

/**
 * attach: job-sshd — a user-level sshd for the job on its first node: a host key made for the job, a free
 * port, the user's keys plus the one the extension copies in (.gpudev/jobs/<job>/authorized_keys); Slurm
 * stops it with the job.
 */
const JOB_SSHD = [
  'd="$HOME/.gpudev/jobs/$SLURM_JOB_ID"; mkdir -p "$d"; chmod 700 "$d"',
  'ssh-keygen -q -t ed25519 -N \'\' -f "$d/host_key" </dev/null',
  'port=$(python3 -c \'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])\' 2>/dev/null) || port=$((20000 + SLURM_JOB_ID % 20000))',
  'printf \'%s\\n\' "Port $port" "HostKey $d/host_key" "PidFile $d/sshd.pid" "AuthorizedKeysFile .ssh/authorized_keys .gpudev/jobs/$SLURM_JOB_ID/authorized_keys" \\',
  '  "PasswordAuthentication no" "KbdInteractiveAuthentication no" "UsePAM no" "StrictModes no" > "$d/sshd_config"',
  '"$(command -v sshd || echo /usr/sbin/sshd)" -D -f "$d/sshd_config" -E "$d/sshd.log" &',
  'echo "$port" > "$d/port"',
];

/**
 * The holder job: writes the job's environment to ~/.gpudev/jobs/<job>.env (a shell on any of its nodes
 * sources it: rendezvous for multi-node runs, threads per task, caches on scratch), then keeps the
 * allocation until its time limit.
 */
export function holderScript(scratch?: string, jobSshd = false): string {
  const caches = scratch
    ? [
        `  s=${quoteArg(scratch.replace(/\/+$/, ''))}`,
        '  echo "export HF_HOME=$s/hf PIP_CACHE_DIR=$s/pip TORCH_HOME=$s/torch XDG_CACHE_HOME=$s/cache"',
        '  echo "export VLLM_CACHE_DIR=$s/vllm TRITON_CACHE_DIR=$s/triton"',
      ]
    : [];
  return [
    '#!/bin/sh',
    '# gpudev holder job: keeps these GPUs allocated until the time limit or scancel.',
    'mkdir -p "$HOME/.gpudev/jobs/$SLURM_JOB_ID"',
    '{',
    '  echo "export GPUDEV_JOB=$SLURM_JOB_ID SLURM_JOB_ID=$SLURM_JOB_ID NNODES=${SLURM_JOB_NUM_NODES:-1}"',
    '  echo "export MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1) MASTER_PORT=$((29500 + SLURM_JOB_ID % 1000))"',
    '  echo "export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-${SLURM_CPUS_ON_NODE:-1}}"',
    // Evaluated where the file is sourced: this node's place in the job's node list.
    String.raw`  echo "export NODE_RANK=\$(( \$(scontrol show hostnames '$SLURM_JOB_NODELIST' | grep -nx \"\$(hostname -s)\" | cut -d: -f1) - 1 ))"`,
    '  echo "export TOKENIZERS_PARALLELISM=false"',
    ...caches,
    '} > "$HOME/.gpudev/jobs/$SLURM_JOB_ID.env"',
    ...RECORD_GPUS,
    ...(jobSshd ? JOB_SSHD : []),
    // Cancelled or at its time limit Slurm sends TERM: the job's files go with it.
    'trap \'rm -rf "$HOME/.gpudev/jobs/$SLURM_JOB_ID" "$HOME/.gpudev/jobs/$SLURM_JOB_ID.env"; exit 0\' TERM INT',
    'sleep 2147483647 &',
    'wait',
    '',
  ].join('\n');
}

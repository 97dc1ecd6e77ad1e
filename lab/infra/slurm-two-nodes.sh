#!/usr/bin/env bash
# A second, two-node Slurm cluster on this machine for the multi-node tests, apart from lab/infra/slurm.sh's:
# its own configuration, state, ports (17817 for slurmctld, 17818 and 17819 for the two slurmd), job ids
# from 900000, one slurmd per node (-N n1, -N n2), both on this host (the node names do not resolve: a
# test's ranks meet on 127.0.0.1). Idempotent, under its own lock; needs lab/infra/slurm.sh to have
# installed Slurm and started munged. Prints SLURM_CONF=…; `slurm-two-nodes.sh stop` stops it.
set -euo pipefail
DIR=${GPUDEV_SLURM2_DIR:-/tmp/gpudev-slurm-two-nodes}
HOST=$(hostname -s)
mkdir -p "$DIR"
exec 9>"$DIR/lock"
flock 9
stop() {
  local pids=()
  for daemon in slurmd-2 slurmd-1 slurmctld; do
    if [ -f "$DIR/$daemon.pid" ]; then pids+=("$(cat "$DIR/$daemon.pid")"); rm -f "$DIR/$daemon.pid"; fi
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  kill "${pids[@]}" 2>/dev/null || true
  # Gone before the next start binds the same ports.
  for _ in $(seq 100); do kill -0 "${pids[@]}" 2>/dev/null || return 0; sleep 0.1; done
}
if [ "${1:-}" = stop ]; then stop; exit 0; fi
command -v slurmctld >/dev/null && pgrep -x munged >/dev/null || { echo "[gpudev] run lab/infra/slurm.sh first (Slurm and munged)" >&2; exit 1; }
mkdir -p "$DIR/state" "$DIR/spool-1" "$DIR/spool-2"
# One file per slurmd: they differ only in their spool, pid and log files (NO_CONF_HASH lets them).
for n in 1 2; do
  cat > "$DIR/slurm-$n.conf" <<CONFIG
ClusterName=gpudev2
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=17817
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool-$n
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd-$n.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd-$n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
DebugFlags=NO_CONF_HASH
FirstJobId=900000
ReturnToService=2
MinJobAge=30
NodeName=n1 NodeHostname=$HOST NodeAddr=127.0.0.1 Port=17818 CPUs=1 RealMemory=500 State=UNKNOWN
NodeName=n2 NodeHostname=$HOST NodeAddr=127.0.0.1 Port=17819 CPUs=1 RealMemory=500 State=UNKNOWN
PartitionName=two Nodes=n1,n2 Default=YES MaxTime=01:00:00 State=UP
CONFIG
done
running() { [ -f "$DIR/$1.pid" ] && kill -0 "$(cat "$DIR/$1.pid")" 2>/dev/null; }
running slurmctld || /usr/sbin/slurmctld -f "$DIR/slurm-1.conf"
running slurmd-1 || SLURM_CONF="$DIR/slurm-1.conf" /usr/sbin/slurmd -f "$DIR/slurm-1.conf" -N n1
running slurmd-2 || SLURM_CONF="$DIR/slurm-2.conf" /usr/sbin/slurmd -f "$DIR/slurm-2.conf" -N n2
export SLURM_CONF="$DIR/slurm-1.conf"
for _ in $(seq 100); do
  [ "$(sinfo -h -p two -o '%t' 2>/dev/null | sort -u | tr -d '\n')" = idle ] && break
  sinfo -h -p two -o '%t' 2>/dev/null | grep -q -E 'down|drain' && scontrol update nodename=n1,n2 state=resume 2>/dev/null || true
  sleep 0.2
done
[ "$(sinfo -h -p two -o '%D %t' | grep -c ' idle\| mix\| alloc')" -ge 1 ] || { tail -n 20 "$DIR"/*.log >&2; echo "[gpudev] the two-node cluster did not come up" >&2; exit 1; }
echo "SLURM_CONF=$SLURM_CONF"

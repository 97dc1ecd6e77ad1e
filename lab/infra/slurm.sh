#!/usr/bin/env bash
# A real one-node Slurm cluster for the integration tests, idempotent: installs slurm-wlm and munge as
# root when missing, writes slurm.conf with fake GRES GPUs (4 h100, 2 a100, 2 l4, and one each of a10, l40s,
# rtx6000, rtx6000ada, a100_80, plus 2 MIG slices a100_1g.10gb on this machine, backed by plain files, and
# a partition `spare` with a second node that is always down), starts munged, slurmctld and slurmd, and waits until the node is idle. Prints KEY=VALUE
# lines. `slurm.sh stop` stops the daemons.
set -euo pipefail
DIR=${GPUDEV_SLURM_DIR:-/tmp/gpudev-slurm}
HOST=$(hostname -s)
say() { echo "[gpudev] $*" >&2; }
stop() {
  for daemon in slurmd slurmctld; do
    if [ -f "$DIR/$daemon.pid" ]; then kill "$(cat "$DIR/$daemon.pid")" 2>/dev/null || true; rm -f "$DIR/$daemon.pid"; fi
  done
}
if [ "${1:-}" = stop ]; then stop; exit 0; fi
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  if [ "$(id -u)" != 0 ]; then say "Slurm is not installed (sudo apt-get install -y slurm-wlm munge)"; exit 1; fi
  say "installing slurm-wlm and munge"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Use-Pty=0 slurm-wlm munge >/tmp/gpudev-apt-slurm.log 2>&1 \
    || { tail -30 /tmp/gpudev-apt-slurm.log >&2; exit 1; }
fi
mkdir -p "$DIR/state" "$DIR/spool" /run/munge /etc/slurm
chown munge:munge /run/munge
[ -f /etc/munge/munge.key ] || { mkdir -p /etc/munge; dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
pgrep -x munged >/dev/null || sudo -u munge /usr/sbin/munged 2>/dev/null || runuser -u munge -- /usr/sbin/munged
touch "$DIR"/nvidia{0..14}
cat > /etc/slurm/slurm.conf <<CONFIG
ClusterName=gpudev
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/jobcomp.txt
ReturnToService=2
MinJobAge=30
NodeName=$HOST CPUs=$(nproc) RealMemory=2000 Gres=gpu:h100:4,gpu:a100:2,gpu:l4:2,gpu:a10:1,gpu:l40s:1,gpu:rtx6000:1,gpu:rtx6000ada:1,gpu:a100_80:1,gpu:a100_1g.10gb:2 State=UNKNOWN
PartitionName=gpu Nodes=$HOST Default=YES MaxTime=2-00:00:00 State=UP
PartitionName=short Nodes=$HOST MaxTime=01:00:00 State=UP
# A node that never answers (TEST-NET address), so a job may exclude $HOST and still be accepted (it pends).
NodeName=gpudev-spare NodeAddr=192.0.2.1 CPUs=2 RealMemory=2000 Gres=gpu:a100_80:1 State=DOWN
PartitionName=spare Nodes=$HOST,gpudev-spare MaxTime=01:00:00 State=UP
CONFIG
cat > /etc/slurm/gres.conf <<CONFIG
AutoDetect=off
NodeName=$HOST Name=gpu Type=h100 File=$DIR/nvidia[0-3]
NodeName=$HOST Name=gpu Type=a100 File=$DIR/nvidia[4-5]
NodeName=$HOST Name=gpu Type=l4 File=$DIR/nvidia[6-7]
NodeName=$HOST Name=gpu Type=a10 File=$DIR/nvidia8
NodeName=$HOST Name=gpu Type=l40s File=$DIR/nvidia9
NodeName=$HOST Name=gpu Type=rtx6000 File=$DIR/nvidia10
NodeName=$HOST Name=gpu Type=rtx6000ada File=$DIR/nvidia11
NodeName=$HOST Name=gpu Type=a100_80 File=$DIR/nvidia12
NodeName=$HOST Name=gpu Type=a100_1g.10gb File=$DIR/nvidia[13-14]
NodeName=gpudev-spare Name=gpu Type=a100_80 Count=1
CONFIG
# A running cluster with another configuration (an older checkout's) starts again with this one.
if ! sha1sum -c --status "$DIR/slurm.conf.sha" 2>/dev/null; then stop; sleep 0.5; fi
sha1sum /etc/slurm/slurm.conf /etc/slurm/gres.conf > "$DIR/slurm.conf.sha"
if ! { [ -f "$DIR/slurmctld.pid" ] && kill -0 "$(cat "$DIR/slurmctld.pid")" 2>/dev/null; }; then /usr/sbin/slurmctld; fi
if ! { [ -f "$DIR/slurmd.pid" ] && kill -0 "$(cat "$DIR/slurmd.pid")" 2>/dev/null; }; then /usr/sbin/slurmd; fi
for _ in $(seq 100); do
  state=$(sinfo -h -n "$HOST" -o %T 2>/dev/null | head -1 || true)
  case "$state" in idle|mixed|allocated) break ;; drain*|down*) scontrol update nodename="$HOST" state=resume 2>/dev/null || true ;; esac
  sleep 0.2
done
sinfo -h -n "$HOST" -o %T | grep -Eq 'idle|mixed|allocated' || { tail -n 20 "$DIR/slurmctld.log" "$DIR/slurmd.log" >&2; say "the Slurm node did not come up"; exit 1; }
echo "SLURM_NODE=$HOST"
echo "SLURM_DIR=$DIR"

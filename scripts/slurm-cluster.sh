#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for trying the Slurm launcher without a real cluster.
#
#   scripts/slurm-cluster.sh start DIR   # munge, slurmctld and slurmd, all files under DIR
#   export SLURM_CONF=DIR/slurm.conf     # then sbatch, squeue, `python -m src.run -m hydra/launcher=slurm ...`
#   scripts/slurm-cluster.sh status DIR  # the node's state and the queue
#   scripts/slurm-cluster.sh stop DIR    # cancel every job, stop the daemons this script started
#
# Runs as root without systemd (Debian: apt-get install slurmctld slurmd slurm-client munge; or
# `make slurm`). The node line comes from `slurmd -C` (its cores and memory); processes are
# tracked through /proc (no cgroups), tasks are not bound to cores, and there is no accounting
# daemon, so `sacct` answers nothing. The controller and node daemon listen on free ports of
# the loopback interface and munge on its own socket, so several clusters can run side by side.
set -euo pipefail

usage() { echo "usage: $0 {start|stop|status} DIR" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
action=$1
dir=$(realpath -m "$2")
conf=$dir/slurm.conf
export SLURM_CONF=$conf

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

node_state() {
  sinfo --noheader --format=%T 2>/dev/null | head -1
}

write_conf() {
  local host node
  host=$(hostname -s)
  # e.g. "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105"
  node=$(slurmd -C | head -1)
  cat >"$conf" <<EOF
ClusterName=bench
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
# a cancelled or timed-out job gets SIGTERM, then SIGKILL this many seconds later
KillWait=5
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
  for tool in munged slurmctld slurmd sbatch; do
    command -v "$tool" >/dev/null || { echo "$tool is missing: make slurm (apt-get install slurmctld slurmd slurm-client munge)" >&2; exit 1; }
  done
  [[ $(id -u) -eq 0 ]] || { echo "slurmctld and slurmd run as root here; run this as root" >&2; exit 1; }
  [[ ! -e $dir/slurmctld.pid ]] || { echo "a cluster already runs in $dir (stop it first)" >&2; exit 1; }
  mkdir -p "$dir/munge" "$dir/state" "$dir/spool"
  chmod 700 "$dir/munge"
  write_conf
  mungekey --create --keyfile="$dir/munge/munge.key" --force
  munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed"
  slurmctld -f "$conf"
  slurmd -f "$conf"
  local deadline=$((SECONDS + 60)) state
  until [[ $(node_state) == idle ]]; do
    if ((SECONDS > deadline)); then
      echo "the node is not idle after 60 s (state: $(node_state)); logs in $dir" >&2
      stop
      exit 1
    fi
    sleep 0.2
  done
  echo "export SLURM_CONF=$conf"
}

stop_pid() {  # stop_pid PIDFILE: TERM, then KILL after 10 s
  local file=$1 pid
  [[ -s $file ]] || return 0
  pid=$(cat "$file")
  if kill -TERM "$pid" 2>/dev/null; then
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

stop() {
  if [[ -s $dir/slurmctld.pid ]] && kill -0 "$(cat "$dir/slurmctld.pid")" 2>/dev/null; then
    scancel --full --quiet --user=root 2>/dev/null || true
    for _ in $(seq 150); do  # until every job's processes are gone (KillWait is 5 s)
      [[ -z $(squeue --noheader --format=%i --states=RUNNING,COMPLETING,PENDING,CONFIGURING 2>/dev/null) ]] && break
      sleep 0.2
    done
  fi
  stop_pid "$dir/slurmd.pid"
  stop_pid "$dir/slurmctld.pid"
  stop_pid "$dir/munge/munged.pid"
}

status() {
  sinfo --Node --long
  squeue --states=all
}

case $action in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) usage ;;
esac

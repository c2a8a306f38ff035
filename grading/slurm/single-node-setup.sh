#!/bin/bash
# A single-node Slurm on this machine, from Debian's packages (Debian 12:
# Slurm 22.05), to try the job scripts beside this file and to let
# labtest/tests/slurm.rs take its real path. For trying only: one node (this
# host, all its CPUs), one partition, no accounting, no cgroups.
#
# Root only. Idempotent: run it again to restart the daemons; it never
# overwrites a slurm.conf it did not write.
#
# Stop:  service slurmd stop; service slurmctld stop; service munge stop
# Undo:  the above, then apt-get purge slurm-wlm munge; rm -r /etc/slurm/slurm.conf /var/spool/slurm*
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "single-node-setup.sh: run as root" >&2
  exit 2
fi

marker="# written by grading/slurm/single-node-setup.sh"
conf=/etc/slurm/slurm.conf
node=$(hostname -s)
cpus=$(nproc)

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge
fi

# munge: the Debian package makes the key; make sure it is there and private.
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
fi
chown munge:munge /etc/munge/munge.key
chmod 400 /etc/munge/munge.key

if [ -e "$conf" ] && ! grep -qxF "$marker" "$conf"; then
  echo "single-node-setup.sh: $conf exists and is not ours; leaving it alone" >&2
  exit 1
fi
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
chown slurm:slurm /var/spool/slurmctld /var/log/slurm
cat > "$conf" <<CONF
$marker
ClusterName=labgrade
SlurmctldHost=$node
SlurmUser=slurm
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
# No cgroups (containers often lack them): plain process tracking.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
# Each CPU is a slot: a task asking for one CPU gets one.
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
NodeName=$node CPUs=$cpus State=UNKNOWN
PartitionName=grading Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF

# (Re)start in order: munge, the controller, the node daemon.
for daemon in munge slurmctld slurmd; do
  service "$daemon" stop >/dev/null 2>&1 || true
done
service munge start
munge -n | unmunge >/dev/null
service slurmctld start
service slurmd start

# Wait for the node to come up idle.
for _ in $(seq 30); do
  if sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
    sinfo
    exit 0
  fi
  sleep 1
done
echo "single-node-setup.sh: the node did not come up; see /var/log/slurm/" >&2
sinfo -N -l >&2 || true
exit 1

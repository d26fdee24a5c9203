# Shared by slurm/local/start and slurm/local/stop: where the cluster keeps its state, its ports, and
# how a daemon is recognised from its pid file (so stop ends only what start started).

LOCAL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE=${SLURM_LOCAL_STATE:-$LOCAL_DIR/state}
CLUSTER=gbench
# Daemons in start order; stop ends them in reverse.
DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd)

# Ports: derived from the state directory, so a cluster in a second checkout (or a system-wide
# install on the default ports 6817-6819/3306) can run beside this one. SLURM_LOCAL_PORT_BASE overrides.
_hash=$(printf '%s' "$STATE" | cksum | cut -d' ' -f1)
PORT_BASE=${SLURM_LOCAL_PORT_BASE:-$((21000 + (_hash % 1500) * 10))}
CTLD_PORT=$PORT_BASE
SLURMD_PORT=$((PORT_BASE + 1))
DBD_PORT=$((PORT_BASE + 2))
MYSQL_PORT=$((PORT_BASE + 3))

MUNGE_SOCKET=$STATE/munge/munge.socket
MYSQL_SOCKET=$STATE/mysql/mysqld.sock
export SLURM_CONF=$STATE/slurm.conf

# Each daemon writes its pid where its (unprivileged) user may write.
pidfile() {
  case $1 in
    munged) echo "$STATE/munge/munged.pid" ;;
    mariadbd) echo "$STATE/mysql/mariadbd.pid" ;;
    *) echo "$STATE/pids/$1.pid" ;;
  esac
}

# The pid in a daemon's pid file, if that process is alive and still is that daemon (pids get reused).
live_pid() {
  local f pid
  f=$(pidfile "$1")
  [ -s "$f" ] || return 1
  pid=$(cat "$f")
  [ -r "/proc/$pid/comm" ] || return 1
  [ "$(cat "/proc/$pid/comm")" = "$1" ] || return 1
  echo "$pid"
}

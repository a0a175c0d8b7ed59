#!/usr/bin/env bash
# A GlusterFS test bed on loopback: one glusterd on this machine, two one-brick volumes,
# each mounted twice (the two mounts of a volume stand in for two hosts).
#
# Usage: host-tests/gluster/gluster.sh up|down|status|check [STATE_DIR]
#        host-tests/gluster/gluster.sh brick-stop|brick-start coherent|default [STATE_DIR]
#
#   up      tears down what an earlier run of this script left in STATE_DIR, then starts
#           glusterd and creates, starts and mounts the volumes (on failure it tears down
#           again and exits non-zero)
#   down    unmounts (lazily when a mount is stuck) and stops everything `up` started,
#           by the pid files it wrote, and removes STATE_DIR
#   status  what is mounted and running; exit status 0 when the bed is up
#   check   whether this machine can run the bed: prints the reason and exits 3 when the
#           packages, root or FUSE are missing, 1 when no host name resolves to loopback
#   brick-stop VOLUME, brick-start VOLUME
#           stop a volume's brick process (its mounts then fail every call with ENOTCONN)
#           and start it again, waiting until both mounts answer
#
# STATE_DIR defaults to $GLUSTER_STATE, else target/gluster. Layout:
#
#   STATE_DIR/mnt/coherent-a, coherent-b   the volume fsess-coherent, mounted twice with
#                                          the coherent options (below)
#   STATE_DIR/mnt/default-a, default-b     the volume fsess-default, default options and a
#                                          default mount
#   STATE_DIR/bricks/                      the bricks, on a tmpfs of up to 1 GiB
#   STATE_DIR/log/                         glusterd's and the mounts' logs (the bricks log
#                                          to /var/log/glusterfs/bricks/ until `down`)
#
# The coherent set-up: the volume options performance.open-behind, performance.quick-read
# and performance.stat-prefetch off, and each mount with --attribute-timeout=0
# --entry-timeout=0 --negative-timeout=0 --fopen-keep-cache=off.
#
# glusterd needs root, listens on the address the brick host name resolves to (a name for
# 127.0.0.1 or another loopback address: the CLI refuses `localhost` and `127.0.0.1`
# themselves; set GLUSTER_HOST to choose one), and uses the machine-wide control socket, so
# only one bed runs per machine: `up` refuses to start when another glusterd runs. Every
# step that could hang (mounts, unmounts, the gluster CLI) runs under `timeout`.
set -euo pipefail

cmd="${1:-}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
volume=""
case "$cmd" in
    brick-stop | brick-start)
        volume="${2:-}"
        [[ "$volume" == coherent || "$volume" == default ]] || { echo "gluster.sh: $cmd needs coherent or default" >&2; exit 2; }
        shift
        ;;
esac
state="$(realpath -m "${2:-${GLUSTER_STATE:-$root/target/gluster}}")"
volumes=(coherent default)
coherent_options=(performance.open-behind off performance.quick-read off performance.stat-prefetch off)
coherent_mount=(--attribute-timeout=0 --entry-timeout=0 --negative-timeout=0 --fopen-keep-cache=off)

log() { echo "gluster.sh: $*" >&2; }

# The host name for the bricks and its loopback address, as "NAME ADDR".
brick_host() {
    local names=("${GLUSTER_HOST:-}" "$(hostname 2>/dev/null || true)")
    # Any other name /etc/hosts gives a loopback address.
    names+=($(awk '$1 ~ /^127\./ { for (i = 2; i <= NF; i++) print $i }' /etc/hosts 2>/dev/null || true))
    local name addr
    for name in "${names[@]}"; do
        case "$name" in "" | localhost | localhost.* | ip6-*) continue ;; esac
        addr="$(getent ahostsv4 "$name" 2>/dev/null | awk 'NR == 1 { print $1 }')"
        if [[ "$addr" == 127.* ]]; then
            echo "$name $addr"
            return 0
        fi
    done
    return 1
}

# Whether this machine can run the bed; prints why not.
check() {
    local missing=()
    for bin in glusterd gluster glusterfs; do
        command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || missing+=("$bin")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "GlusterFS is not installed (missing: ${missing[*]}; Debian: apt-get install glusterfs-server glusterfs-client)"
        return 3
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "not root: glusterd and FUSE mounts need root"
        return 3
    fi
    if [ ! -c /dev/fuse ]; then
        echo "FUSE is unavailable (no /dev/fuse)"
        return 3
    fi
    if ! brick_host >/dev/null; then
        echo "no host name resolves to a loopback address other than localhost (add e.g. '127.0.0.1 fsess-gluster' to /etc/hosts, or set GLUSTER_HOST)"
        return 1
    fi
}

export PATH="$PATH:/usr/sbin:/sbin"

# Runs the gluster CLI against our glusterd, bounded in time.
cli() { timeout 60 gluster --mode=script --log-file="$state/log/cli.log" "$@"; }

# The pid in a pid file if that process is alive and its command line names our state
# directory (so a stale file never makes us signal someone else's process).
our_pid() {
    local file="$1" pid
    [ -f "$file" ] || return 1
    pid="$(tr -dc 0-9 <"$file")"
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$state" || return 1
    echo "$pid"
}

# Stops the processes of some pid files: TERM to all, then KILL to those still there
# after 5 s.
stop_pid_files() {
    local pids=() f pid
    for f in "$@"; do
        pid="$(our_pid "$f")" && pids+=("$pid")
    done
    [ ${#pids[@]} -gt 0 ] || return 0
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 50); do
        local alive=()
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
        [ ${#alive[@]} -gt 0 ] || return 0
        sleep 0.1
    done
    log "pids ${alive[*]} ignored TERM: KILL"
    kill -KILL "${alive[@]}" 2>/dev/null || true
}

is_mounted() { awk -v d="$1" '$2 == d { found = 1 } END { exit !found }' /proc/mounts; }

unmount() {
    local dir="$1"
    is_mounted "$dir" || return 0
    timeout 20 umount "$dir" 2>/dev/null || {
        log "umount $dir failed or hung: lazy unmount"
        timeout 20 umount -l "$dir" || true
    }
}

down() {
    [ -d "$state" ] || return 0
    local v side
    for v in "${volumes[@]}"; do
        for side in a b; do
            unmount "$state/mnt/$v-$side"
        done
    done
    # The mount processes, the bricks (by the pid files glusterd writes for them) and
    # glusterd, all at once.
    stop_pid_files "$state"/run/*.pid /var/run/gluster/vols/fsess-*/*.pid
    rm -rf /var/run/gluster/vols/fsess-coherent /var/run/gluster/vols/fsess-default
    # glusterd names the bricks' logs after their paths, outside our directory.
    local brick_logs="${state#/}"
    rm -f /var/log/glusterfs/bricks/"${brick_logs//\//-}"-bricks-*.log
    unmount "$state/bricks"
    # Nothing of ours may still be mounted below the state directory before removing it.
    if awk -v d="$state/" 'index($2, d) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
        log "something is still mounted under $state: not removing it"
        return 1
    fi
    rm -rf "$state"
}

up() {
    local why
    if ! why="$(check)"; then
        log "cannot run here: $why"
        exit 3
    fi
    down
    if pgrep -x glusterd >/dev/null; then
        log "another glusterd is running (pid $(pgrep -x glusterd | tr '\n' ' ')): one per machine; stop it first"
        exit 1
    fi
    read -r host addr < <(brick_host)
    mkdir -p "$state"/{wd,log,run,bricks,mnt}
    trap 'log "up failed: tearing down"; down || true' ERR
    # The bricks on a tmpfs: the bed measures the network filesystem, not this machine's
    # disk, and removing a brick (tens of thousands of gfid links) from a disk takes long.
    mount -t tmpfs -o size=1g,mode=0700 fsess-gluster-bricks "$state/bricks"
    cat >"$state/glusterd.vol" <<EOF
volume management
    type mgmt/glusterd
    option working-directory $state/wd
    option transport-type socket
    option transport.socket.bind-address $addr
    option transport.socket.listen-port 24007
    option ping-timeout 0
    option event-threads 1
end-volume
EOF
    glusterd -f "$state/glusterd.vol" -p "$state/run/glusterd.pid" -l "$state/log/glusterd.log" --log-level=WARNING
    local ready=""
    for _ in $(seq 100); do
        if cli peer status >/dev/null 2>&1; then ready=1; break; fi
        sleep 0.1
    done
    [ -n "$ready" ] || { log "glusterd did not answer within 10 s (see $state/log/glusterd.log)"; false; }
    local v side
    for v in "${volumes[@]}"; do
        cli volume create "fsess-$v" "$host:$state/bricks/$v" force >/dev/null
        if [ "$v" = coherent ]; then
            local i
            for ((i = 0; i < ${#coherent_options[@]}; i += 2)); do
                cli volume set "fsess-$v" "${coherent_options[i]}" "${coherent_options[i + 1]}" >/dev/null
            done
        fi
        cli volume start "fsess-$v" >/dev/null
        for side in a b; do
            local dir="$state/mnt/$v-$side" opts=()
            mkdir -p "$dir"
            [ "$v" = coherent ] && opts=("${coherent_mount[@]}")
            # Not mount.glusterfs: it rewrites some options.
            timeout 30 glusterfs --volfile-server="$addr" --volfile-id="/fsess-$v" "${opts[@]}" \
                --pid-file="$state/run/mount-$v-$side.pid" --log-file="$state/log/mount-$v-$side.log" "$dir"
            local mounted=""
            for _ in $(seq 100); do
                if is_mounted "$dir" && timeout 5 stat "$dir" >/dev/null 2>&1; then mounted=1; break; fi
                sleep 0.1
            done
            [ -n "$mounted" ] || { log "$dir did not mount within 10 s (see $state/log/mount-$v-$side.log)"; false; }
        done
    done
    trap - ERR
    status
}

# The pid file glusterd keeps for a volume's brick.
brick_pid_file() { ls /var/run/gluster/vols/"fsess-$1"/*.pid 2>/dev/null | head -1; }

brick_stop() {
    local f
    f="$(brick_pid_file "$1")"
    [ -n "$f" ] || { log "no brick pid file for fsess-$1"; exit 1; }
    our_pid "$f" >/dev/null || { log "the brick of fsess-$1 is not running"; exit 1; }
    stop_pid_files "$f"
}

brick_start() {
    cli volume start "fsess-$1" force >/dev/null
    local side
    for side in a b; do
        local ok=""
        # The mounts reconnect on their own (every few seconds): wait until each answers.
        for _ in $(seq 300); do
            if timeout 5 stat "$state/mnt/$1-$side/." >/dev/null 2>&1 && timeout 5 ls "$state/mnt/$1-$side" >/dev/null 2>&1; then ok=1; break; fi
            sleep 0.1
        done
        [ -n "$ok" ] || { log "$state/mnt/$1-$side did not come back within 30 s"; exit 1; }
    done
}

status() {
    local up=0 v side
    if pid="$(our_pid "$state/run/glusterd.pid")"; then
        echo "glusterd: pid $pid"
    else
        echo "glusterd: not running"
        up=1
    fi
    for v in "${volumes[@]}"; do
        for side in a b; do
            local dir="$state/mnt/$v-$side"
            if is_mounted "$dir"; then echo "mounted: $dir (fsess-$v)"; else echo "not mounted: $dir"; up=1; fi
        done
    done
    return $up
}

case "$cmd" in
    up) up ;;
    down) down ;;
    status) status ;;
    check) check ;;
    brick-stop) brick_stop "$volume" ;;
    brick-start) brick_start "$volume" ;;
    -h | --help | "") awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; [ -n "$cmd" ] ;;
    *) log "unknown command: $cmd (see --help)"; exit 2 ;;
esac

#!/usr/bin/env bash
# A private, throwaway Docker Engine (and two local registries) for wireproto's tests and CI.
#
#   scripts/engine.sh up     [DIR]  start everything (idempotent; installs missing packages as root)
#   scripts/engine.sh env    [DIR]  print `export WIREPROTO_...=...` lines for the running engine
#   scripts/engine.sh down   [DIR]  stop what `up` started (by the pids recorded in DIR), unmount DIR
#   scripts/engine.sh status [DIR]  say what is running
#   scripts/engine.sh check  [DIR]  smoke test: run a container, push/pull via both registries
#
# DIR defaults to ${WIREPROTO_ENGINE_DIR:-/tmp/wireproto-engine}. As root with apt-get, `up`
# installs missing packages (docker.io busybox-static docker-registry apache2-utils curl) unless
# WIREPROTO_ENGINE_NO_INSTALL=1. Typical use:
#
#   scripts/engine.sh up && eval "$(scripts/engine.sh env)" && ./scripts/test.sh; scripts/engine.sh down
#
# Strategy: every piece of state lives under DIR and every process we start is recorded there,
# so `down` stops exactly what `up` started and never touches a system dockerd:
#
#   DIR/docker.sock  dockerd.pid  dockerd.log  daemon.json (ours: /etc/docker/daemon.json is not
#                    read)  key.json  data/ (--data-root)  exec/ (--exec-root)
#   DIR/containerd/  our own containerd (config.toml, ctd.sock, root/, state/, pid, log). We start
#                    it ourselves and pass --containerd: dockerd 20.10 would otherwise adopt a
#                    system containerd at /run/containerd/containerd.sock when one runs (as it does
#                    after `apt-get install docker.io` on a systemd host), sharing its "moby"
#                    namespace with the system dockerd.
#   DIR/registry-plain/, DIR/registry-auth/   config.yml, storage/, pid, port, registry.log
#   DIR/cli/         a DOCKER_CONFIG for the docker CLI (so `docker login` never writes ~/.docker)
#
# What is still shared with the host, because dockerd/containerd hard-code it: /run/docker/plugins
# (plugin discovery, stays empty), /run/containerd/s/ (shim sockets, named by a hash of our
# containerd address) and the cgroup parent "docker" (container ids are unique). Certificates
# would only be read from /etc/docker/certs.d — we need none, see start_registry.
set -euo pipefail

IMAGE=wireproto-busybox:test
REGISTRY_USER=wireproto
# Standard base64 of this password (alone in "user:password", or inside the X-Registry-Auth JSON)
# contains both '+' and '/' wherever it lands: a run of six equal bytes always holds one
# 3-byte-aligned triple, and base64("???") = "Pz8/", base64("~~~") = "fn5+". A client that uses
# standard instead of URL-safe base64 for X-Registry-Auth therefore fails to authenticate (the
# engine silently drops a value it cannot decode). '?' and '~' need no escaping in JSON.
REGISTRY_PASSWORD='wp-??????-~~~~~~-Pass'

die() { echo "engine.sh: error: $*" >&2; exit 1; }
say() { echo "engine.sh: $*" >&2; }

usage() {
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# --- processes --------------------------------------------------------------------------------

read_pid() {  # FILE -> the pid recorded in FILE, or nothing
    local pid=""
    [ -f "$1" ] && read -r pid <"$1" 2>/dev/null || true
    case "$pid" in '' | *[!0-9]*) ;; *) echo "$pid" ;; esac
}

alive() {  # PID MATCH: PID runs (not a zombie) and its command line contains MATCH (pid reuse guard)
    local pid=$1 match=$2 state
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null) || return 1
    [ "$state" != Z ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$match"
}

stop_pid() {  # PID MATCH NAME TIMEOUT: SIGTERM, wait TIMEOUT seconds, then SIGKILL and wait
    local pid=$1 match=$2 name=$3 timeout=$4 i
    alive "$pid" "$match" || return 0
    say "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
        alive "$pid" "$match" || return 0
        sleep 0.1
    done
    say "$name (pid $pid) ignored SIGTERM for ${timeout}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        alive "$pid" "$match" || return 0
        sleep 0.1
    done
    say "warning: $name (pid $pid) is still alive"
    return 1
}

start_bg() {  # PIDFILE LOG CMD...: start CMD detached in its own session, record its pid
    local pidfile=$1 log=$2
    shift 2
    # A background child of a non-interactive shell is not a process group leader, so setsid(1)
    # calls setsid() and execs in place: $! is the daemon's own pid. The new session keeps a ^C
    # or a CI runner's process-group kill from reaching the daemon; `down` stops it instead.
    # 9>&-: the daemon must not inherit (and hold forever) our lock on DIR/.lock.
    setsid "$@" </dev/null >>"$log" 2>&1 9>&- &
    echo $! >"$pidfile"
}

running() {  # PID: the process exists and is not a zombie
    # For a daemon this script has just started, not alive(): until its exec
    # chain (this shell's fork -> setsid -> the daemon) is done, its cmdline is
    # this script's, setsid's, or empty mid-exec, and no match would hold (CI
    # hit this twice: "containerd did not start" while it had booted). Our own
    # child's pid cannot be another process's while we run.
    local state
    [ -n "$1" ] || return 1
    state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

# --- helpers ----------------------------------------------------------------------------------

free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
        return
    fi
    local p i
    for ((i = 0; i < 100; i++)); do
        p=$((20000 + RANDOM % 30000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
    done
    die "no free port found"
}

shquote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

docker_cli() {  # the CLI matching the engine: /usr/bin/docker (20.10) before a newer one on PATH
    if [ -x /usr/bin/docker ]; then echo /usr/bin/docker; else command -v docker || true; fi
}

dk() { DOCKER_CONFIG="$DIR/cli" "$CLI" -H "unix://$DIR/docker.sock" "$@"; }

ping_engine() { curl -fsS --max-time 5 --unix-socket "$DIR/docker.sock" http://engine/_ping 2>/dev/null | grep -qx OK; }

lock() {  # serialise concurrent up/down on the same DIR (e.g. several pytest-xdist workers)
    exec 9>"$DIR/.lock"
    flock -w 600 9 || die "could not lock $DIR/.lock"
}

# --- packages ---------------------------------------------------------------------------------

busybox_bin() {
    local b
    for b in /bin/busybox /usr/bin/busybox "$(command -v busybox 2>/dev/null || true)"; do
        [ -n "$b" ] && [ -x "$b" ] && { echo "$b"; return; }
    done
}

ensure_packages() {
    local missing=()
    command -v dockerd >/dev/null 2>&1 || [ -x /usr/sbin/dockerd ] || missing+=(docker.io)
    command -v containerd >/dev/null 2>&1 || missing+=(docker.io)
    # The image has no libc: busybox must be the static build.
    if command -v dpkg >/dev/null 2>&1; then
        dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
    else
        [ -n "$(busybox_bin)" ] || missing+=(busybox-static)
    fi
    command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
    command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)
    command -v curl >/dev/null 2>&1 || missing+=(curl)
    [ -n "$(docker_cli)" ] || missing+=(docker.io)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1 ||
        [ "${WIREPROTO_ENGINE_NO_INSTALL:-0}" = 1 ]; then
        die "missing: ${missing[*]} (scripts/engine.sh up as root on Debian/Ubuntu installs them)"
    fi
    say "installing: ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        docker.io busybox-static docker-registry apache2-utils curl
}

# --- registries -------------------------------------------------------------------------------

write_registry_config() {  # RDIR PORT AUTH(0|1)
    local rdir=$1 port=$2 auth=$3
    # Format: docker/distribution 2.x ("version: 0.1"), as shipped by Debian's docker-registry.
    cat >"$rdir/config.yml" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $rdir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: wireproto-test-only
  headers:
    X-Content-Type-Options: [nosniff]
EOF
    if [ "$auth" = 1 ]; then
        # Basic auth over plain HTTP works (verified with dockerd 20.10 / distribution 2.8):
        # registry 2.x does not insist on TLS for htpasswd, and dockerd sends credentials to a
        # registry it treats as insecure (127.0.0.0/8 always is; we also pass --insecure-registry)
        # after falling back from HTTPS. So no certificate is needed; a TLS registry would need
        # its CA in /etc/docker/certs.d/HOST:PORT/ca.crt, a host-wide path we stay out of.
        cat >>"$rdir/config.yml" <<EOF
auth:
  htpasswd:
    realm: wireproto-test
    path: $rdir/htpasswd
EOF
    fi
}

registry_answers() {  # PORT AUTH: our registry answers /v2/ (200 plain, 401 Basic challenge with auth)
    local port=$1 auth=$2 head
    head=$(curl -sS --max-time 3 -D - -o /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null) || return 1
    if [ "$auth" = 1 ]; then
        grep -q '^HTTP/[0-9.]* 401' <<<"$head" && grep -qi '^Www-Authenticate: Basic realm="wireproto-test"' <<<"$head"
    else
        grep -q '^HTTP/[0-9.]* 200' <<<"$head" && grep -qi '^Docker-Distribution-Api-Version: registry/2.0' <<<"$head"
    fi
}

start_registry() {  # NAME AUTH(0|1)
    local name=$1 auth=$2 rdir="$DIR/registry-$1" pid port attempt i
    mkdir -p "$rdir/storage"
    pid=$(read_pid "$rdir/pid")
    port=$(read_pid "$rdir/port")
    if alive "$pid" "$rdir/config.yml" && [ -n "$port" ] && registry_answers "$port" "$auth"; then
        say "registry $name already running on 127.0.0.1:$port (pid $pid)"
        return 0
    fi
    stop_pid "$pid" "$rdir/config.yml" "registry $name" 10 || true
    rm -f "$rdir/pid"
    if [ "$auth" = 1 ]; then
        htpasswd -Bbn "$REGISTRY_USER" "$REGISTRY_PASSWORD" >"$rdir/htpasswd"
    fi
    # A free port can be taken between our probe and the registry's bind: then the registry exits
    # and we try another. The first attempt reuses the recorded port, so a restart keeps it.
    for attempt in 1 2 3 4 5; do
        [ -n "$port" ] && [ "$attempt" = 1 ] || port=$(free_port)
        write_registry_config "$rdir" "$port" "$auth"
        echo "$port" >"$rdir/port"
        start_bg "$rdir/pid" "$rdir/registry.log" docker-registry serve "$rdir/config.yml"
        pid=$(read_pid "$rdir/pid")
        for ((i = 0; i < 300; i++)); do
            if registry_answers "$port" "$auth"; then
                running "$pid" || break  # somebody else answers on that port
                say "registry $name listening on 127.0.0.1:$port (pid $pid)"
                return 0
            fi
            running "$pid" || break
            sleep 0.1
        done
        stop_pid "$pid" "$rdir/config.yml" "registry $name" 5 || true
        say "registry $name did not come up on port $port (attempt $attempt):"
        tail -n 5 "$rdir/registry.log" >&2 || true
    done
    die "registry $name would not start; see $rdir/registry.log"
}

# --- containerd and dockerd -------------------------------------------------------------------

start_containerd() {
    local cdir="$DIR/containerd" pid i
    mkdir -p "$cdir/root" "$cdir/state"
    pid=$(read_pid "$cdir/pid")
    if alive "$pid" "$cdir/config.toml"; then
        say "containerd already running (pid $pid)"
        return 0
    fi
    rm -f "$cdir/pid" "$cdir/ctd.sock" "$cdir/ctd.sock.ttrpc"
    cat >"$cdir/config.toml" <<EOF
version = 2
root = "$cdir/root"
state = "$cdir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$cdir/ctd.sock"

[ttrpc]
  address = "$cdir/ctd.sock.ttrpc"

[debug]
  address = ""
  level = "info"

# Default /opt/containerd: keep it under DIR too.
[plugins."io.containerd.internal.v1.opt"]
  path = "$cdir/opt"
EOF
    start_bg "$cdir/pid" "$cdir/containerd.log" containerd --config "$cdir/config.toml"
    pid=$(read_pid "$cdir/pid")
    for ((i = 0; i < 300; i++)); do
        [ -S "$cdir/ctd.sock" ] && { say "containerd running (pid $pid)"; return 0; }
        running "$pid" || break
        sleep 0.1
    done
    tail -n 30 "$cdir/containerd.log" >&2 || true
    die "containerd did not start; see $cdir/containerd.log"
}

start_dockerd() {
    local pid i dockerd
    dockerd=$(command -v dockerd || echo /usr/sbin/dockerd)
    pid=$(read_pid "$DIR/dockerd.pid")
    if alive "$pid" "--data-root $DIR/data"; then
        say "dockerd already running (pid $pid)"
    else
        rm -f "$DIR/dockerd.pid" "$DIR/docker.pid"  # a stale --pidfile makes dockerd refuse to start
        # A private config file, so /etc/docker/daemon.json is not read. "deprecated-key-path"
        # (a config key only, no flag) keeps 20.10 from writing /etc/docker/key.json.
        printf '{"deprecated-key-path": "%s/key.json"}\n' "$DIR" >"$DIR/daemon.json"
        mkdir -p "$DIR/data" "$DIR/exec"
        # --bridge=none/--iptables=false/--ip-masq=false: no docker0, no firewall changes; all
        # test containers run with --network none. json-file is the default log driver, but the tests depend
        # on its behaviour (16 KiB cuts, U+FFFD), so say it.
        start_bg "$DIR/dockerd.pid" "$DIR/dockerd.log" "$dockerd" \
            --host "unix://$DIR/docker.sock" \
            --data-root "$DIR/data" \
            --exec-root "$DIR/exec" \
            --pidfile "$DIR/docker.pid" \
            --config-file "$DIR/daemon.json" \
            --containerd "$DIR/containerd/ctd.sock" \
            --iptables=false --ip-masq=false --bridge=none --userland-proxy=false \
            --storage-driver=vfs \
            --log-driver=json-file \
            --insecure-registry "127.0.0.1:$(read_pid "$DIR/registry-plain/port")" \
            --insecure-registry "127.0.0.1:$(read_pid "$DIR/registry-auth/port")"
        pid=$(read_pid "$DIR/dockerd.pid")
    fi
    for ((i = 0; i < 600; i++)); do
        ping_engine && { say "dockerd answers on unix://$DIR/docker.sock (pid $pid)"; return 0; }
        running "$pid" || break
        sleep 0.1
    done
    say "dockerd did not answer GET /_ping; last lines of $DIR/dockerd.log:"
    tail -n 40 "$DIR/dockerd.log" >&2 || true
    die "dockerd did not start"
}

build_image() {
    local bb tmp applet
    if dk image inspect "$IMAGE" >/dev/null 2>&1; then
        say "image $IMAGE present"
        return 0
    fi
    bb=$(busybox_bin)
    [ -n "$bb" ] || die "busybox not found"
    tmp="$DIR/image-build"
    rm -rf "$tmp"
    mkdir -p "$tmp/rootfs/bin" "$tmp/rootfs/etc" "$tmp/rootfs/tmp" "$tmp/rootfs/root" \
        "$tmp/rootfs/proc" "$tmp/rootfs/sys" "$tmp/rootfs/dev"
    chmod 1777 "$tmp/rootfs/tmp"
    cp "$bb" "$tmp/rootfs/bin/busybox"
    for applet in $("$bb" --list); do
        [ "$applet" = busybox ] || ln -sf busybox "$tmp/rootfs/bin/$applet"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$tmp/rootfs/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$tmp/rootfs/etc/group"
    tar -C "$tmp/rootfs" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
        -cf "$tmp/rootfs.tar" .
    dk import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' "$tmp/rootfs.tar" "$IMAGE" >/dev/null
    rm -rf "$tmp"
    say "image $IMAGE built from $bb"
}

# --- teardown ---------------------------------------------------------------------------------

pids_with() {  # MATCH: pids whose command line contains MATCH (MATCH always names our DIR)
    local p
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        alive "$p" "$1" && echo "$p"
    done
    return 0
}

unmount_all() {  # unmount everything under DIR, deepest first (dockerd bind-mounts data/ on itself)
    local mp n mps
    for n in 1 2 3; do
        # Field 5 of mountinfo is the mount point, with blanks escaped as octal.
        mapfile -t mps < <(awk -v d="$DIR/" '{ m = $5; gsub(/\\040/, " ", m) }
            index(m, d) == 1 { print length(m) "\t" m }' /proc/self/mountinfo | sort -rn | cut -f2-)
        [ ${#mps[@]} -eq 0 ] && return 0
        for mp in "${mps[@]}"; do
            umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || say "warning: cannot unmount $mp"
        done
    done
}

cmd_down() {
    local pid cdir="$DIR/containerd" f ids
    [ -d "$DIR" ] || { say "nothing to stop: $DIR does not exist"; return 0; }
    lock
    pid=$(read_pid "$DIR/dockerd.pid")
    if alive "$pid" "--data-root $DIR/data"; then
        # Kill running containers first: dockerd's own shutdown would give each 10 s of SIGTERM.
        if [ -n "$CLI" ] && ping_engine; then
            ids=$(dk ps -q 2>/dev/null || true)
            [ -z "$ids" ] || dk kill $ids >/dev/null 2>&1 || true
        fi
        stop_pid "$pid" "--data-root $DIR/data" dockerd 60 || true
    fi
    # containerd leaves its shims (and their containers) running when it exits, by design. After
    # a clean dockerd shutdown there are none; after a crash, kill what is left, found by the
    # state files and the containerd address that only our DIR has.
    for f in "$cdir"/state/io.containerd.runtime.v2.task/*/*/init.pid; do
        [ -f "$f" ] || continue
        pid=$(read_pid "$f")
        [ -n "$pid" ] && [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    done
    for pid in $(pids_with "-address $cdir/ctd.sock"); do
        stop_pid "$pid" "-address $cdir/ctd.sock" "containerd-shim" 10 || true
    done
    stop_pid "$(read_pid "$cdir/pid")" "$cdir/config.toml" containerd 30 || true
    stop_pid "$(read_pid "$DIR/registry-plain/pid")" "$DIR/registry-plain/config.yml" "registry plain" 10 || true
    stop_pid "$(read_pid "$DIR/registry-auth/pid")" "$DIR/registry-auth/config.yml" "registry auth" 10 || true
    unmount_all
    rm -f "$DIR/dockerd.pid" "$DIR/docker.pid" "$cdir/pid" "$DIR/registry-plain/pid" "$DIR/registry-auth/pid"
    say "down: $DIR"
}

# --- up / env / status / check ----------------------------------------------------------------

cmd_up() {
    ensure_packages
    CLI=$(docker_cli)
    mkdir -p "$DIR" "$DIR/cli"
    chmod 700 "$DIR"
    lock
    # Leftovers of a dockerd that died without cleaning up would be mounted a second time.
    if ! alive "$(read_pid "$DIR/dockerd.pid")" "--data-root $DIR/data" &&
        ! alive "$(read_pid "$DIR/containerd/pid")" "$DIR/containerd/config.toml"; then
        unmount_all
    fi
    start_registry plain 0
    start_registry auth 1
    start_containerd
    start_dockerd
    build_image
    dk run --rm --network none "$IMAGE" true || die "smoke test 'docker run --rm $IMAGE true' failed"
    say "up: $DIR (eval \"\$(scripts/engine.sh env $DIR)\")"
}

cmd_env() {
    local p1 p2
    p1=$(read_pid "$DIR/registry-plain/port")
    p2=$(read_pid "$DIR/registry-auth/port")
    [ -S "$DIR/docker.sock" ] && [ -n "$p1" ] && [ -n "$p2" ] ||
        die "no engine in $DIR; run: scripts/engine.sh up $DIR"
    echo "export WIREPROTO_ENGINE_DIR=$(shquote "$DIR")"
    echo "export WIREPROTO_ENGINE_HOST=$(shquote "unix://$DIR/docker.sock")"
    echo "export WIREPROTO_DOCKER_CLI=$(shquote "$CLI")"
    echo "export WIREPROTO_DOCKER_CONFIG=$(shquote "$DIR/cli")"
    echo "export WIREPROTO_IMAGE=$(shquote "$IMAGE")"
    echo "export WIREPROTO_REGISTRY=$(shquote "127.0.0.1:$p1")"
    echo "export WIREPROTO_AUTH_REGISTRY=$(shquote "127.0.0.1:$p2")"
    echo "export WIREPROTO_REGISTRY_USER=$(shquote "$REGISTRY_USER")"
    echo "export WIREPROTO_REGISTRY_PASSWORD=$(shquote "$REGISTRY_PASSWORD")"
}

cmd_status() {
    local rc=0 n
    show() {  # NAME PIDFILE MATCH
        local pid
        pid=$(read_pid "$2")
        if alive "$pid" "$3"; then echo "$1: running (pid $pid)"; else echo "$1: stopped"; rc=1; fi
    }
    show dockerd "$DIR/dockerd.pid" "--data-root $DIR/data"
    show containerd "$DIR/containerd/pid" "$DIR/containerd/config.toml"
    for n in plain auth; do
        show "registry $n (127.0.0.1:$(read_pid "$DIR/registry-$n/port"))" \
            "$DIR/registry-$n/pid" "$DIR/registry-$n/config.yml"
    done
    return $rc
}

cmd_check() {
    local p1 p2 out
    p1=127.0.0.1:$(read_pid "$DIR/registry-plain/port")
    p2=127.0.0.1:$(read_pid "$DIR/registry-auth/port")
    ping_engine || die "engine not running in $DIR"
    out=$(dk run --rm --network none "$IMAGE" echo hi)
    [ "$out" = hi ] || die "docker run printed '$out', not 'hi'"
    dk tag "$IMAGE" "$p1/wireproto/check:1"
    dk push "$p1/wireproto/check:1" >/dev/null
    dk rmi "$p1/wireproto/check:1" >/dev/null
    dk pull "$p1/wireproto/check:1" >/dev/null
    dk rmi "$p1/wireproto/check:1" >/dev/null
    dk logout "$p2" >/dev/null 2>&1 || true
    dk tag "$IMAGE" "$p2/wireproto/check:1"
    if dk push "$p2/wireproto/check:1" >/dev/null 2>&1; then
        die "push to $p2 without credentials succeeded"
    fi
    printf '%s' "$REGISTRY_PASSWORD" | dk login -u "$REGISTRY_USER" --password-stdin "$p2" >/dev/null 2>&1 ||
        die "docker login $p2 failed"
    dk push "$p2/wireproto/check:1" >/dev/null
    dk rmi "$p2/wireproto/check:1" >/dev/null
    dk pull "$p2/wireproto/check:1" >/dev/null
    dk rmi "$p2/wireproto/check:1" >/dev/null
    dk logout "$p2" >/dev/null
    say "check ok: run, push/pull $p1, login + push/pull $p2"
}

# --- main -------------------------------------------------------------------------------------

[ $# -ge 1 ] && [ $# -le 2 ] || usage
DIR=${2:-${WIREPROTO_ENGINE_DIR:-/tmp/wireproto-engine}}
case "$DIR" in /*) ;; *) DIR="$PWD/$DIR" ;; esac
DIR=${DIR%/}
# Unix socket paths are limited to 108 bytes; the longest we create is DIR/containerd/ctd.sock.ttrpc
# and dockerd's DIR/exec/libnetwork/<12 hex>.sock.
[ ${#DIR} -le 75 ] || die "DIR is too long for unix socket paths (max 75 characters): $DIR"
CLI=$(docker_cli)

case "$1" in
up) cmd_up ;;
down) cmd_down ;;
env) cmd_env ;;
status) cmd_status ;;
check) cmd_check ;;
*) usage ;;
esac

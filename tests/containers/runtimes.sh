# shellcheck shell=bash
# Real container runtimes for the tests: Docker, Podman and containerd, each a private daemon
# whose data, state, sockets and pidfiles all live under one work directory the test owns. No
# bridge, no firewall rule, no host network: a container gets no network or a namespace of its
# own. Sourced by test scripts:
#
#   source tests/containers/runtimes.sh
#   work=$(mktemp -d /tmp/fl-test-rt.XXXXXX)
#   trap 'runtime_stop_all "$work"' EXIT
#   runtime_available docker || { echo "SKIP: $RUNTIME_SKIP_REASON"; exit 77; }
#   runtime_start docker "$work" && runtime_image docker
#   id=$(runtime_run docker web1 app=web -- /bin/httpd -f -p 8080)
#   pid=$(runtime_pid docker web1)
#
# Functions return non-zero with a message on stderr when something fails; none of them exits.
# runtime_stop_all undoes everything the others did, from the files under the work directory
# alone: it works from a trap, after a partial start, in another shell, and twice.

# A client the test inherits must not reach the host's own daemons: until runtime_start sets
# them, these point nowhere.
unset DOCKER_HOST DOCKER_CONTEXT CONTAINER_HOST CONTAINER_CONNECTION CONTAINERD_ADDRESS \
  CONTAINERD_NAMESPACE

RUNTIME_IMAGE=localhost/fl-test-busybox:1
# ctr's namespace, and so the first part of a containerd container's cgroup: /fl-test/<id>.
RUNTIME_CONTAINERD_NAMESPACE=fl-test
# The namespaces dockerd uses in the containerd it talks to: named so they cannot be mistaken
# for a host dockerd's ("moby").
RUNTIME_DOCKER_NAMESPACE=fl-test-docker
# Seconds a daemon gets to answer its API, then to exit when asked.
RUNTIME_START_TIMEOUT=${RUNTIME_START_TIMEOUT:-30}
RUNTIME_STOP_TIMEOUT=${RUNTIME_STOP_TIMEOUT:-10}

# Host paths a runtime creates whatever its flags say (containerd's shims put their sockets in
# /run/containerd/s, dockerd makes /run/docker/plugins, podman's image copies keep a cache in
# /var/lib/containers/cache), and those it would create if a flag were missed. runtime_start
# records which exist; runtime_stop_all removes those that did not (a folder only when empty).
# Files before their folders.
_RUNTIME_HOST_PATHS=(/var/lib/containers/cache/blob-info-cache-v1.boltdb
  /var/lib/containers/cache /var/lib/containers /run/docker/plugins /run/docker
  /run/containerd/s /run/containerd/fifo "/run/containerd/runc/$RUNTIME_CONTAINERD_NAMESPACE"
  /run/containerd/runc /run/containerd /opt/containerd /etc/docker/key.json
  /etc/docker /run/runc /run/libpod /run/containers/storage /run/containers /var/lib/docker
  /var/lib/containerd)
# The cgroups each runtime puts its containers (and podman its conmons) under, with the cgroupfs
# driver the daemons here are started with; children before parents.
_runtime_cgroup_parents() {
  case $1 in
    docker) echo docker ;;
    podman) echo libpod_parent/conmon; echo libpod_parent ;;
    containerd) echo "$RUNTIME_CONTAINERD_NAMESPACE" ;;
  esac
}

_runtime_error() { echo "runtimes.sh: $*" >&2; return 1; }

_runtime_known() {
  case $1 in
    docker|podman|containerd) return 0 ;;
    *) _runtime_error "unknown runtime '$1': use docker, podman or containerd" ;;
  esac
}

# runtime_available NAME: 0 when NAME can run here. Otherwise 1, with the reason and the fix in
# RUNTIME_SKIP_REASON (for "SKIP: $RUNTIME_SKIP_REASON" and exit 77).
runtime_available() {
  _runtime_known "$1" || return 1
  RUNTIME_SKIP_REASON=""
  if [[ $(id -u) -ne 0 ]]; then
    RUNTIME_SKIP_REASON="$1 runs rootful here (private daemons, cgroups, mounts): run as root"
    return 1
  fi
  local tool tools missing=()
  case $1 in
    docker) tools=(dockerd:docker.io docker:docker.io containerd:containerd
                   containerd-shim-runc-v2:containerd runc:runc) ;;
    podman) tools=(podman:podman conmon:conmon runc:runc) ;;
    containerd) tools=(containerd:containerd ctr:containerd containerd-shim-runc-v2:containerd
                       runc:runc) ;;
  esac
  tools+=(busybox:busybox-static curl:curl)
  for tool in "${tools[@]}"; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
  done
  if ((${#missing[@]} == 0)) && ! _runtime_static_busybox >/dev/null; then
    missing+=(busybox-static)
  fi
  if ((${#missing[@]})); then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    RUNTIME_SKIP_REASON="$1 is not installed here: apt-get install ${missing[*]}"
    return 1
  fi
  return 0
}

# The test image is made of one static busybox: it must need no library.
_runtime_static_busybox() {
  local path
  path=$(command -v busybox) || return 1
  path=$(readlink -f "$path")
  local linkage
  linkage=$(LC_ALL=C ldd "$path" 2>&1)
  [[ $linkage == *"not a dynamic executable"* || $linkage == *"statically linked"* ]] || return 1
  echo "$path"
}

_runtime_record_host_paths() {  # WORKDIR
  local path
  [[ -e $1/host-paths-before ]] && return 0
  for path in "${_RUNTIME_HOST_PATHS[@]}"; do
    [[ -e $path ]] && echo "$path"
  done > "$1/host-paths-before"
  local runtime parent
  for runtime in docker podman containerd; do
    for parent in $(_runtime_cgroup_parents "$runtime"); do
      _runtime_cgroup_dirs "$parent"
    done
  done > "$1/cgroups-before"
}

# runtime_start docker|podman|containerd WORKDIR: starts the private daemon, waits until its
# API answers, and exports where it listens:
#   docker      DOCKER_HOST=unix://WORKDIR/docker/docker.sock (and DOCKER_CONFIG, so the CLI
#               leaves ~/.docker alone)
#   podman      CONTAINER_HOST=unix://WORKDIR/podman/podman.sock (Docker-compatible and libpod
#               API), CONTAINERS_CONF, CONTAINERS_STORAGE_CONF
#   containerd  CONTAINERD_ADDRESS=WORKDIR/containerd/containerd.sock, CONTAINERD_NAMESPACE
runtime_start() {
  local runtime=$1 work=${2:-}
  _runtime_known "$runtime" || return 1
  if [[ -z $work || ! -d $work ]]; then
    _runtime_error "runtime_start $runtime: no work directory '$work' (make it with mktemp -d)"
    return 1
  fi
  work=$(cd "$work" && pwd -P)
  # A unix socket's path holds at most 107 bytes; the deepest is dockerd's containerd's.
  if ((${#work} > 60)); then
    _runtime_error "runtime_start: work directory '$work' is too long for the daemons'" \
      "socket paths (at most 60 characters; use mktemp -d /tmp/fl-test-rt.XXXXXX)"
    return 1
  fi
  _runtime_record_host_paths "$work"
  echo "$work" > "$work/.fl-test-runtimes"
  "_runtime_start_$runtime" "$work"
}

# Starts COMMAND... in the background with its output in LOG and its pid in PIDFILE. Its stdin
# and stdout are not the test's, so a daemon left behind cannot hold ctest's pipes open.
_runtime_spawn() {  # LOG PIDFILE COMMAND...
  local log=$1 pidfile=$2
  shift 2
  setsid "$@" </dev/null >"$log" 2>&1 &
  echo $! > "$pidfile"
  # Still this shell's child (ctest's timeout kills a test's descendants), but not a job whose
  # end bash reports.
  disown $!
}

# Waits until CHECK succeeds, while the daemon in PIDFILE lives.
_runtime_wait() {  # WHAT PIDFILE LOG CHECK...
  local what=$1 pidfile=$2 log=$3
  shift 3
  local deadline=$((SECONDS + RUNTIME_START_TIMEOUT)) pid
  pid=$(cat "$pidfile" 2>/dev/null)
  until "$@" >/dev/null 2>&1; do
    if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null; then
      _runtime_error "$what exited before its API answered; the end of $log:"
      tail -n 20 "$log" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      _runtime_error "$what did not answer within ${RUNTIME_START_TIMEOUT}s; the end of $log:"
      tail -n 20 "$log" >&2
      return 1
    fi
    sleep 0.1
  done
}

_runtime_containerd_config() {  # DIR: writes DIR/config.toml for a containerd rooted in DIR
  local dir=$1
  mkdir -p "$dir/root" "$dir/state" "$dir/opt"
  # CRI is not needed (ctr and dockerd use the plain API) and would want CNI. The opt plugin
  # would make /opt/containerd.
  cat > "$dir/config.toml" <<EOF
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$dir/containerd.sock"
[ttrpc]
  address = "$dir/containerd.sock.ttrpc"
[debug]
  address = "$dir/debug.sock"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/opt"
EOF
}

_runtime_start_containerd_in() {  # DIR WHAT
  local dir=$1
  _runtime_containerd_config "$dir"
  _runtime_spawn "$dir/containerd.log" "$dir/containerd.pid" containerd --config "$dir/config.toml"
  _runtime_wait "$2" "$dir/containerd.pid" "$dir/containerd.log" \
    ctr --address "$dir/containerd.sock" version
}

_runtime_start_containerd() {  # WORKDIR
  local dir=$1/containerd
  _runtime_start_containerd_in "$dir" containerd || return 1
  export CONTAINERD_ADDRESS=$dir/containerd.sock CONTAINERD_NAMESPACE=$RUNTIME_CONTAINERD_NAMESPACE
}

_runtime_start_docker() {  # WORKDIR
  local dir=$1/docker
  mkdir -p "$dir/data" "$dir/exec" "$dir/cli"
  # An empty client configuration: podman, too, reads DOCKER_CONFIG, and fails without one.
  echo '{}' > "$dir/cli/config.json"
  # dockerd's own ("managed") containerd has a configuration dockerd writes, which makes
  # /opt/containerd; dockerd is given one of ours instead, and stops nothing of it on exit.
  _runtime_start_containerd_in "$dir/containerd" "docker's containerd" || return 1
  # The identity key would go to /etc/docker/key.json, and /etc/docker/daemon.json would be read.
  cat > "$dir/daemon.json" <<EOF
{"deprecated-key-path": "$dir/key.json"}
EOF
  _runtime_spawn "$dir/dockerd.log" "$dir/dockerd.pid" dockerd \
    --config-file "$dir/daemon.json" --data-root "$dir/data" --exec-root "$dir/exec" \
    --host "unix://$dir/docker.sock" --pidfile "$dir/docker.pid" \
    --containerd "$dir/containerd/containerd.sock" \
    --containerd-namespace "$RUNTIME_DOCKER_NAMESPACE" \
    --containerd-plugins-namespace "$RUNTIME_DOCKER_NAMESPACE-plugins" \
    --exec-opt native.cgroupdriver=cgroupfs \
    --iptables=false --ip6tables=false --bridge=none --ip-forward=false --ip-masq=false \
    --userland-proxy=false
  _runtime_wait dockerd "$dir/dockerd.pid" "$dir/dockerd.log" \
    curl -sf --max-time 2 --unix-socket "$dir/docker.sock" http://docker/_ping || return 1
  export DOCKER_HOST=unix://$dir/docker.sock DOCKER_CONFIG=$dir/cli
}

_runtime_podman_config() {  # DIR
  local dir=$1
  mkdir -p "$dir/root" "$dir/runroot" "$dir/tmp" "$dir/networks"
  # default_ulimits = []: otherwise the OCI runtime raises RLIMIT_NOFILE/NPROC, which fails
  # without CAP_SYS_RESOURCE. runc: crun refuses hybrid cgroups. cgroupfs: containers are
  # /libpod_parent/libpod-<id>, with or without systemd. A file lock and a file event log: the
  # defaults are /dev/shm/libpod_lock and the journal, both the host's.
  cat > "$dir/containers.conf" <<EOF
[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
lock_type = "file"
tmp_dir = "$dir/tmp"
static_dir = "$dir/root/libpod"
volume_path = "$dir/root/volumes"
[network]
network_config_dir = "$dir/networks"
EOF
  cat > "$dir/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$dir/root"
runroot = "$dir/runroot"
EOF
}

# runtime_podman ARGS...: the podman CLI on the private storage, run locally (not through the
# service, which CONTAINER_HOST would otherwise select).
runtime_podman() {
  local dir
  dir=$(_runtime_dir podman) || return 1
  runtime_podman_in "$(dirname "$dir")" "$@"
}

_runtime_start_podman() {  # WORKDIR
  local dir=$1/podman
  _runtime_podman_config "$dir"
  _runtime_podman_command "$dir"
  _runtime_spawn "$dir/service.log" "$dir/service.pid" "${_RUNTIME_PODMAN[@]}" \
    system service --time=0 "unix://$dir/podman.sock"
  _runtime_wait "podman system service" "$dir/service.pid" "$dir/service.log" \
    curl -sf --max-time 2 --unix-socket "$dir/podman.sock" http://podman/_ping || return 1
  export CONTAINER_HOST=unix://$dir/podman.sock CONTAINERS_CONF=$dir/containers.conf \
    CONTAINERS_STORAGE_CONF=$dir/storage.conf
}

# The directory of a started runtime, from the variables runtime_start exported.
_runtime_dir() {
  local path
  case $1 in
    docker) path=${DOCKER_HOST#unix://}; path=${path%/docker.sock} ;;
    podman) path=${CONTAINERS_CONF%/containers.conf} ;;
    containerd) path=${CONTAINERD_ADDRESS%/containerd.sock} ;;
    *) _runtime_known "$1"; return 1 ;;
  esac
  # Only a daemon of this library's: its work directory carries the mark runtime_start left.
  if [[ -z $path || ! -e $(dirname "$path")/.fl-test-runtimes ]]; then
    _runtime_error "$1 is not started: call runtime_start $1 WORKDIR first"
    return 1
  fi
  echo "$path"
}

# runtime_docker ARGS... / runtime_ctr ARGS...: the clients, on the private daemons.
runtime_docker() {
  _runtime_dir docker >/dev/null || return 1
  docker "$@"
}
runtime_ctr() {
  _runtime_dir containerd >/dev/null || return 1
  ctr --address "$CONTAINERD_ADDRESS" --namespace "$RUNTIME_CONTAINERD_NAMESPACE" "$@"
}

# Writes WORKDIR/image/fl-test-busybox.tar once: a docker-archive (what `docker save` writes,
# and docker load, podman load and ctr images import all read) of one layer, a root holding a
# static busybox and a link for each of its applets in /bin.
_runtime_image_archive() {  # WORKDIR
  local dir=$1/image busybox arch
  local archive=$dir/fl-test-busybox.tar
  [[ -s $archive ]] && { echo "$archive"; return 0; }
  if ! busybox=$(_runtime_static_busybox); then
    _runtime_error "no static busybox: apt-get install busybox-static"
    return 1
  fi
  case $(uname -m) in
    x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;;
  esac
  rm -rf "$dir" && mkdir -p "$dir/rootfs/bin" "$dir/rootfs/etc" "$dir/rootfs/tmp" \
    "$dir/rootfs/proc" "$dir/rootfs/sys" "$dir/rootfs/dev" "$dir/rootfs/var/www" "$dir/out"
  cp "$busybox" "$dir/rootfs/bin/busybox"
  local applet
  for applet in $("$busybox" --list); do
    [[ $applet == busybox ]] || ln -sf busybox "$dir/rootfs/bin/$applet"
  done
  printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$dir/rootfs/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' > "$dir/rootfs/etc/group"
  echo 'faultline test container' > "$dir/rootfs/var/www/index.html"
  chmod 1777 "$dir/rootfs/tmp"
  # Reproducible: the same bytes, so the same image id, on every run.
  tar -C "$dir/rootfs" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    -cf "$dir/layer.tar" . || return 1
  local layer_sum config config_sum
  layer_sum=$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)
  mkdir -p "$dir/out/$layer_sum"
  mv "$dir/layer.tar" "$dir/out/$layer_sum/layer.tar"
  config=$(printf '%s' \
    '{"architecture":"%s","os":"linux","created":"1970-01-01T00:00:00Z",' \
    '"config":{"Env":["PATH=/bin"],"Cmd":["/bin/sh"],"WorkingDir":"/"},' \
    '"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},' \
    '"history":[{"created":"1970-01-01T00:00:00Z","created_by":"tests/containers/runtimes.sh"}]}')
  # shellcheck disable=SC2059 # the format is the JSON above
  config=$(printf "$config" "$arch" "$layer_sum")
  config_sum=$(printf '%s' "$config" | sha256sum | cut -d' ' -f1)
  printf '%s' "$config" > "$dir/out/$config_sum.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' \
    "$config_sum" "$RUNTIME_IMAGE" "$layer_sum" > "$dir/out/manifest.json"
  tar -C "$dir/out" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    -cf "$archive" . || return 1
  rm -rf "$dir/rootfs" "$dir/out"
  echo "$archive"
}

# runtime_image RUNTIME: loads the test image $RUNTIME_IMAGE into RUNTIME, offline.
runtime_image() {
  local runtime=$1 dir archive
  dir=$(_runtime_dir "$runtime") || return 1
  archive=$(_runtime_image_archive "$(dirname "$dir")") || return 1
  case $runtime in
    docker) runtime_docker load -q -i "$archive" >/dev/null ;;
    podman) runtime_podman load -q -i "$archive" >/dev/null ;;
    containerd) runtime_ctr images import --no-unpack=false "$archive" >/dev/null ;;
  esac || { _runtime_error "$runtime could not load $archive"; return 1; }
}

# The image: /bin/busybox and its applets (sh, sleep, httpd, nslookup, wget, cat, ps, ...),
# /etc/passwd and /etc/group, and /var/www/index.html for `httpd -f -p PORT -h /var/www`.
#
# runtime_run RUNTIME NAME [KEY=VALUE...] -- COMMAND...: runs a detached container NAME of
# $RUNTIME_IMAGE with those labels and COMMAND, with no network (docker, podman) or a network
# namespace of its own holding only lo (containerd), and prints its full id.
runtime_run() {
  local runtime=$1 name=$2
  shift 2
  local labels=()
  while (($#)) && [[ $1 != -- ]]; do
    [[ $1 == *=* ]] || { _runtime_error "runtime_run: label '$1' is not KEY=VALUE"; return 1; }
    labels+=(--label "$1")
    shift
  done
  if [[ ${1:-} != -- || $# -lt 2 ]]; then
    _runtime_error "runtime_run $runtime $name: expected -- COMMAND after the labels"
    return 1
  fi
  shift
  case $runtime in
    docker|podman)
      "runtime_$runtime" run -d --name "$name" "${labels[@]}" --network none "$RUNTIME_IMAGE" "$@" ;;
    containerd)
      # A ctr container's id is its name. --null-io: the output's FIFOs would be made in
      # /run/containerd/fifo; --runc-root: runc's state would go to /run/containerd/runc.
      runtime_ctr run -d --null-io --runc-root "$(_runtime_dir containerd)/runc" \
        "${labels[@]}" "$RUNTIME_IMAGE" "$name" "$@" >/dev/null &&
        echo "$name" ;;
    *) _runtime_known "$runtime" ;;
  esac
}

# runtime_pid RUNTIME NAME: the host pid of the container's init process.
runtime_pid() {
  local runtime=$1 name=$2 pid
  case $runtime in
    docker) pid=$(runtime_docker inspect -f '{{.State.Pid}}' "$name") ;;
    podman) pid=$(runtime_podman inspect -f '{{.State.Pid}}' "$name") ;;
    containerd) pid=$(runtime_ctr tasks ls | awk -v id="$name" '$1 == id { print $2 }') ;;
    *) _runtime_known "$runtime"; return 1 ;;
  esac
  if [[ ! $pid =~ ^[1-9][0-9]*$ ]]; then
    _runtime_error "$runtime container '$name' has no running process"
    return 1
  fi
  echo "$pid"
}

# Processes whose command line names WORKDIR (daemons, shims, conmon), this shell and its
# ancestors left out.
_runtime_pids_of_work() {  # WORKDIR
  local work=$1 self=$BASHPID pid ancestors=" " p=$BASHPID
  while [[ $p =~ ^[0-9]+$ && $p -gt 1 ]]; do
    ancestors+="$p "
    p=$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null)
  done
  for pid in /proc/[0-9]*; do
    pid=${pid#/proc/}
    [[ $ancestors == *" $pid "* ]] && continue
    { tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null | grep -qF -- "$work/" && echo "$pid"
  done
  : "$self"
}

_runtime_kill_and_wait() {  # SIGNAL SECONDS PID...
  local signal=$1 seconds=$2
  shift 2
  (($#)) || return 0
  kill "-$signal" "$@" 2>/dev/null
  local deadline=$((SECONDS + seconds)) pid alive
  while :; do
    alive=()
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
    ((${#alive[@]} == 0)) && return 0
    ((SECONDS >= deadline)) && return 1
    sleep 0.1
  done
}

# The container cgroups a runtime of WORKDIR made: the ids it kept under WORKDIR, under the
# runtime's parent cgroup, relative to a hierarchy's root.
_runtime_container_cgroups() {  # WORKDIR
  local work=$1 id path
  for path in "$work"/docker/data/containers/*/; do
    [[ -d $path ]] && echo "docker/$(basename "$path")"
  done
  for path in "$work"/podman/root/overlay-containers/*/; do
    [[ -d $path ]] || continue
    id=$(basename "$path")
    echo "libpod_parent/libpod-$id"
  done
  # The containerd namespace is this library's own: all of it.
  if [[ -d $work/containerd ]]; then
    for path in /sys/fs/cgroup/"$RUNTIME_CONTAINERD_NAMESPACE"/*/ \
                /sys/fs/cgroup/*/"$RUNTIME_CONTAINERD_NAMESPACE"/*/; do
      [[ -d $path ]] && echo "$RUNTIME_CONTAINERD_NAMESPACE/$(basename "$path")"
    done
  fi
}

# Every hierarchy's directory for a cgroup path relative to the roots.
_runtime_cgroup_dirs() {  # RELATIVE
  local dir
  for dir in /sys/fs/cgroup/"$1" /sys/fs/cgroup/*/"$1"; do
    [[ -d $dir ]] && echo "$dir"
  done
}

# Kills what is left in a container's cgroups, then removes them (deepest first).
_runtime_remove_cgroup() {  # RELATIVE
  local dirs pids
  mapfile -t dirs < <(_runtime_cgroup_dirs "$1")
  ((${#dirs[@]})) || return 0
  mapfile -t pids < <(find "${dirs[@]}" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)
  _runtime_kill_and_wait KILL 5 "${pids[@]}"
  find "${dirs[@]}" -depth -type d -exec rmdir {} + 2>/dev/null
  return 0
}

# runtime_stop_all WORKDIR: removes every container and image of the runtimes started in
# WORKDIR, stops their daemons, shims and conmons, kills what is left in their containers'
# cgroups and removes those, unmounts everything under WORKDIR, removes the host folders the
# runtimes made that were not there before, then WORKDIR. Safe after a partial start, and
# idempotent; returns 1 (saying what) if something could not be removed.
runtime_stop_all() {
  local work=${1:-}
  [[ -n $work && -d $work ]] || return 0
  work=$(cd "$work" && pwd -P)
  # Only a directory runtime_start marked: this removes what is under it.
  [[ -e $work/.fl-test-runtimes ]] || { rm -rf --one-file-system "$work"; return 0; }
  local status=0
  # Read before the runtimes forget them: a podman rm can leave a cgroup behind.
  local cgroups
  mapfile -t cgroups < <(_runtime_container_cgroups "$work")

  # Politely first, while the daemons answer: their own removal unmounts and deletes cgroups.
  if [[ -S $work/docker/docker.sock ]]; then
    local ids
    ids=$(DOCKER_HOST=unix://$work/docker/docker.sock DOCKER_CONFIG=$work/docker/cli \
      timeout 10 docker ps -aq 2>/dev/null)
    [[ -n $ids ]] && DOCKER_HOST=unix://$work/docker/docker.sock DOCKER_CONFIG=$work/docker/cli \
      timeout 20 xargs docker rm -f <<< "$ids" >/dev/null 2>&1
  fi
  if [[ -f $work/podman/containers.conf ]]; then
    _RUNTIME_TIMEOUT=20 runtime_podman_in "$work" rm -af -t 0 >/dev/null 2>&1
  fi
  if [[ -S $work/containerd/containerd.sock ]]; then
    local ctr=(timeout 10 ctr --address "$work/containerd/containerd.sock"
               --namespace "$RUNTIME_CONTAINERD_NAMESPACE")
    local id
    for id in $("${ctr[@]}" tasks ls -q 2>/dev/null); do
      "${ctr[@]}" tasks kill -s KILL "$id" >/dev/null 2>&1
      "${ctr[@]}" tasks rm -f "$id" >/dev/null 2>&1
    done
    for id in $("${ctr[@]}" containers ls -q 2>/dev/null); do
      "${ctr[@]}" containers rm "$id" >/dev/null 2>&1
    done
  fi

  # The daemons: dockerd before its containerd, then everything else naming WORKDIR (shims,
  # conmon, a service whose pidfile was never written).
  local pidfile pid
  for pidfile in "$work/docker/dockerd.pid" "$work/podman/service.pid" \
                 "$work/docker/containerd/containerd.pid" "$work/containerd/containerd.pid"; do
    pid=$(cat "$pidfile" 2>/dev/null) || continue
    [[ $pid =~ ^[1-9][0-9]*$ ]] || continue
    _runtime_kill_and_wait TERM "$RUNTIME_STOP_TIMEOUT" "$pid" || _runtime_kill_and_wait KILL 5 "$pid"
  done
  local leftovers
  mapfile -t leftovers < <(_runtime_pids_of_work "$work")
  _runtime_kill_and_wait TERM 3 "${leftovers[@]}" || _runtime_kill_and_wait KILL 5 "${leftovers[@]}"

  # Container processes outlive their shim when it is killed: they are found by cgroup.
  local cgroup
  mapfile -t -O "${#cgroups[@]}" cgroups < <(_runtime_container_cgroups "$work")
  for cgroup in $(printf '%s\n' "${cgroups[@]}" | sort -u); do
    _runtime_remove_cgroup "$cgroup"
  done
  # The parent cgroups, when this library's runtimes made them (rmdir: only when empty).
  local runtime parent dir
  for runtime in docker podman containerd; do
    for parent in $(_runtime_cgroup_parents "$runtime"); do
      while read -r dir; do
        grep -qxF "$dir" "$work/cgroups-before" 2>/dev/null || rmdir "$dir" 2>/dev/null
      done < <(_runtime_cgroup_dirs "$parent")
    done
  done

  # Mounts under WORKDIR (overlays, shm, network namespaces, dockerd's bind of its data root),
  # deepest first; one still busy is detached.
  local mount_point
  while read -r mount_point; do
    umount "$mount_point" 2>/dev/null || umount -l "$mount_point" 2>/dev/null ||
      { echo "runtimes.sh: cannot unmount $mount_point" >&2; status=1; }
  done < <(awk -v work="$work/" 'index($5, work) == 1 { print $5 }' /proc/self/mountinfo | sort -r)

  # Host folders that appeared with the runtimes, when empty (a host runtime's are not).
  local path
  for path in "${_RUNTIME_HOST_PATHS[@]}"; do
    grep -qxF "$path" "$work/host-paths-before" 2>/dev/null && continue
    if [[ -d $path ]]; then rmdir "$path" 2>/dev/null; elif [[ -f $path ]]; then rm -f "$path"; fi
  done

  if grep -qF " $work/" /proc/self/mountinfo; then
    echo "runtimes.sh: mounts are left under $work; not removing it" >&2
    return 1
  fi
  rm -rf --one-file-system "$work" || status=1
  # What runtime_start exported for daemons that are gone.
  local variable
  for variable in DOCKER_HOST DOCKER_CONFIG CONTAINER_HOST CONTAINERS_CONF \
                  CONTAINERS_STORAGE_CONF CONTAINERD_ADDRESS; do
    [[ ${!variable:-} == *"$work/"* ]] && unset "$variable"
  done
  [[ -z ${CONTAINERD_ADDRESS:-} ]] && unset CONTAINERD_NAMESPACE
  return "$status"
}

# The podman command line on the storage and configuration in DIR, in _RUNTIME_PODMAN: the same
# for the service and the CLI. Local, not through the service CONTAINER_HOST names; without
# DOCKER_CONFIG, where podman reads registry credentials (and fails if it names no file).
# --runtime-flag root: runc's state would go to /run/runc.
_runtime_podman_command() {  # DIR
  local dir=$1
  _RUNTIME_PODMAN=(env -u CONTAINER_HOST -u CONTAINER_CONNECTION -u DOCKER_CONFIG
    CONTAINERS_CONF="$dir/containers.conf" CONTAINERS_STORAGE_CONF="$dir/storage.conf"
    podman --root "$dir/root" --runroot "$dir/runroot" --runtime runc
    --runtime-flag "root=$dir/runc" --cgroup-manager cgroupfs --tmpdir "$dir/tmp"
    --events-backend file)
}

# runtime_podman for a WORKDIR without the exported variables (runtime_stop_all in a trap).
runtime_podman_in() {  # WORKDIR ARGS...
  _runtime_podman_command "$1/podman"
  shift
  timeout "${_RUNTIME_TIMEOUT:-120}" "${_RUNTIME_PODMAN[@]}" "$@"
}

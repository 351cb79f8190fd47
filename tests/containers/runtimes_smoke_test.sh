#!/usr/bin/env bash
# The test harness's container runtimes, end to end, for each of Docker, Podman and containerd
# installed here: start a private daemon, load the test image, run two containers (one labelled
# app=web, one labelled as the kubelet labels a CRI container), check each one's init process
# lives in a network namespace of its own and in the cgroup the runtime is known to give it (the
# facts faultline's container resolver relies on; printed), query the runtime's API, then stop
# everything and check that no process, mount or cgroup is left. About 15 s for the three.
#   runtimes_smoke_test.sh
set -uo pipefail
# shellcheck source=tests/containers/runtimes.sh
source "$(dirname "$0")/runtimes.sh"

if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: the runtimes run rootful (private daemons, cgroups, mounts): run as root"
  exit 77
fi
command -v jq >/dev/null || { echo "SKIP: jq is not installed: apt-get install jq"; exit 77; }

work=""
trap '[[ -n $work ]] && runtime_stop_all "$work"' EXIT
# Interrupted (Ctrl-C, a kill), the daemons are stopped all the same.
trap 'exit 130' INT TERM
fail() { echo "FAILED: $*"; exit 1; }

# The cgroup path (relative to every hierarchy's root, v1 and v2 alike) each runtime gives a
# container with the cgroupfs driver.
expected_cgroup() {  # RUNTIME ID
  case $1 in
    docker) echo "/docker/$2" ;;
    podman) echo "/libpod_parent/libpod-$2" ;;
    containerd) echo "/$RUNTIME_CONTAINERD_NAMESPACE/$2" ;;
  esac
}

# The labels of container ID as the runtime's API reports them, as one JSON object.
api_labels() {  # RUNTIME ID
  local socket
  case $1 in
    docker) socket=${DOCKER_HOST#unix://} ;;
    podman) socket=${CONTAINER_HOST#unix://} ;;
    # ctr adds the image's stop signal as io.containerd.image.config.stop-signal.
    containerd) runtime_ctr containers info "$2" |
                  jq -c '.Labels // {} | with_entries(select(.key | startswith("io.containerd.") | not))'
                return ;;
  esac
  curl -sf --max-time 10 --unix-socket "$socket" http://runtime/v1.41/containers/json |
    jq -c --arg id "$2" '.[] | select(.Id == $id) | .Labels'
}

check_container() {  # RUNTIME NAME ID EXPECTED_LABELS_JSON
  local runtime=$1 name=$2 id=$3 labels=$4 pid cgroup line
  pid=$(runtime_pid "$runtime" "$name") || fail "$runtime $name: no init pid"
  kill -0 "$pid" 2>/dev/null || fail "$runtime $name: init pid $pid is not alive"
  [[ $(readlink "/proc/$pid/ns/net") != "$(readlink /proc/self/ns/net)" ]] ||
    fail "$runtime $name: pid $pid is in the host's network namespace"
  cgroup=$(expected_cgroup "$runtime" "$id")
  echo "$runtime $name: id $id, init pid $pid, /proc/$pid/cgroup:"
  sed 's/^/    /' "/proc/$pid/cgroup"
  while read -r line; do
    [[ ${line#*:*:} == "$cgroup" ]] || fail "$runtime $name: cgroup line '$line' is not in $cgroup"
  done < "/proc/$pid/cgroup"
  local got
  got=$(api_labels "$runtime" "$id") || fail "$runtime $name: the API did not answer"
  # Docker and Podman add no labels of their own to an image without any: the labels are
  # exactly those given.
  [[ $(jq -S -c . <<< "$got") == $(jq -S -c . <<< "$labels") ]] ||
    fail "$runtime $name: labels from the API are $got, expected $labels"
  facts+=("$pid $cgroup")
}

smoke() {  # RUNTIME
  local runtime=$1 started=$SECONDS
  facts=()
  work=$(mktemp -d /tmp/fl-test-rt.XXXXXX)
  runtime_start "$runtime" "$work" || fail "$runtime did not start"
  runtime_image "$runtime" || fail "$runtime did not load $RUNTIME_IMAGE"
  local web checkout
  web=$(runtime_run "$runtime" web1 app=web -- /bin/httpd -f -p 8080) ||
    fail "$runtime could not run web1"
  checkout=$(runtime_run "$runtime" checkout io.kubernetes.pod.namespace=shop \
    io.kubernetes.pod.name=checkout-7d9f-abcde io.kubernetes.container.name=app \
    -- /bin/sleep 600) || fail "$runtime could not run checkout"
  if [[ $runtime == containerd ]]; then
    [[ $web == web1 && $checkout == checkout ]] || fail "ctr ids are $web and $checkout, not the names"
  else
    [[ $web =~ ^[0-9a-f]{64}$ && $checkout =~ ^[0-9a-f]{64}$ ]] ||
      fail "$runtime ids '$web' and '$checkout' are not full ids"
  fi
  check_container "$runtime" web1 "$web" '{"app":"web"}'
  check_container "$runtime" checkout "$checkout" \
    '{"io.kubernetes.pod.namespace":"shop","io.kubernetes.pod.name":"checkout-7d9f-abcde","io.kubernetes.container.name":"app"}'
  if [[ $runtime == containerd ]]; then
    [[ $(runtime_ctr containers ls -q | sort | tr '\n' ' ') == "checkout web1 " ]] ||
      fail "ctr containers ls lists $(runtime_ctr containers ls -q | tr '\n' ' ')"
  fi

  runtime_stop_all "$work" || fail "runtime_stop_all $work failed"
  local fact pid cgroup dir
  for fact in "${facts[@]}"; do
    read -r pid cgroup <<< "$fact"
    if [[ -e /proc/$pid ]] && grep -qF "$cgroup" "/proc/$pid/cgroup" 2>/dev/null; then
      fail "$runtime: container process $pid is still running"
    fi
    for dir in /sys/fs/cgroup"$cgroup" /sys/fs/cgroup/*"$cgroup"; do
      [[ ! -e $dir ]] || fail "$runtime: cgroup $dir is left"
    done
  done
  [[ ! -e $work ]] || fail "$runtime: $work is left"
  ! grep -qF " $work/" /proc/self/mountinfo || fail "$runtime: mounts under $work are left"
  ! ps -eo args= | grep -F "$work/" | grep -v grep || fail "$runtime: processes naming $work are left"
  work=""
  echo "$runtime: started, ran two containers, stopped, nothing left ($((SECONDS - started)) s)"
}

tested=0
for runtime in docker podman containerd; do
  if ! runtime_available "$runtime"; then
    echo "SKIP $runtime: $RUNTIME_SKIP_REASON"
    continue
  fi
  smoke "$runtime"
  tested=$((tested + 1))
done
((tested > 0)) || { echo "SKIP: no container runtime is installed"; exit 77; }
echo "PASS: $tested runtime(s)"

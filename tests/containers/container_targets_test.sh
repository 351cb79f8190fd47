#!/usr/bin/env bash
# Containers as targets, against real runtimes: for each of Docker, Podman and containerd (each a
# private daemon of this test, tests/containers/runtimes.sh), faultline resolves a container by
# name, by id and by label, and pods by the kubelet's labels; a process fault, a network fault and
# a CPU fault hit the container and nothing outside it; a protected container is refused.
# Through faultline-agent too: the agent resolves them on its host and its policy protects.
#   container_targets_test.sh FAULTLINE AGENT [RUNTIME...]   (default: docker podman containerd)
set -uo pipefail
faultline=$1 agent=$2
shift 2
runtimes=("$@")
((${#runtimes[@]})) || runtimes=(docker podman containerd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/containers/runtimes.sh
source "$here/runtimes.sh"

if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: container runtimes and faults need root"
  exit 77
fi

work="" outside="" background="" background_agent=""
cleanup() {
  [[ -n $background ]] && kill -INT "$background" 2>/dev/null && wait "$background" 2>/dev/null
  [[ -n $background_agent ]] && kill -TERM "$background_agent" 2>/dev/null &&
    wait "$background_agent" 2>/dev/null
  [[ -n $outside ]] && kill "$outside" 2>/dev/null && wait "$outside" 2>/dev/null
  [[ -n $work ]] && runtime_stop_all "$work"
  [[ -n ${scratch:-} ]] && rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "FAILED ($runtime): $*"; exit 1; }
scratch=$(mktemp -d /tmp/fl-test-ct.XXXXXX)

# A process outside every container with the same name as the container's targets: it must
# survive every fault.
bash -c "exec -a sleep sleep 600" &
outside=$!

# A scenario file: scenario NAME TARGET_YAML FAULT_YAML [BLAST_EXTRA]
scenario() {
  cat > "$scratch/$1.yaml" <<YAML
version: 1
title: $1
targets:
  it: $2
blast_radius: {max_duration: 30s${4:-}}
phases: {before: 500ms, after: 500ms}
recovery: {within: 500ms}
steady_state:
  - name: host-alive
    command: {run: "kill -0 $outside"}
    expect: {exit_code: 0}
    interval: 250ms
faults:
  - name: f
    target: it
    at: 0s
$3
YAML
  echo "$scratch/$1.yaml"
}

# Polls up to 10 s for a command to succeed.
eventually() {
  local i
  for ((i = 0; i < 100; i++)); do "$@" && return 0; sleep 0.1; done
  return 1
}

check_runtime() {
  work=$(mktemp -d /tmp/fl-test-rt.XXXXXX)
  runtime_start "$runtime" "$work" || fail "the runtime did not start"
  runtime_image "$runtime" || fail "the image could not be built"
  local web_id pod_id web_pid
  web_id=$(runtime_run "$runtime" fl-web app=web tier=front -- /bin/sh -c 'sleep 600 & sleep 601 & wait') ||
    fail "fl-web did not start"
  pod_id=$(runtime_run "$runtime" fl-pod io.kubernetes.pod.namespace=shop \
    io.kubernetes.pod.name=checkout-7d9f-abcde io.kubernetes.container.name=app -- /bin/sleep 600) ||
    fail "fl-pod did not start"
  runtime_run "$runtime" fl-db app=db -- /bin/sleep 600 >/dev/null || fail "fl-db did not start"
  web_pid=$(runtime_pid "$runtime" fl-web) || fail "no pid for fl-web"
  local cgroup
  cgroup=$(sed -n 's/^0:://p' "/proc/$web_pid/cgroup")
  echo "$runtime: fl-web id $web_id, init pid $web_pid, cgroup $cgroup"

  # --- resolution: by name, by id, by label; pods by the kubelet's labels -----------------
  local by selector out
  for by in name id label pods; do
    case $by in
      name) selector="{containers: {runtime: $runtime, name: fl-web}, processes: {name: sleep}}" ;;
      # containerd's ids are the names their creators chose; docker's and podman's are hex.
      id) [[ $runtime == containerd ]] && continue
          selector="{containers: {id: ${web_id:0:12}}, processes: {name: sleep}}" ;;
      label) selector="{containers: {runtime: $runtime, label: {app: web}}, processes: {name: sleep}}" ;;
      pods) selector="{pods: {runtime: $runtime, namespace: shop, name: 'checkout-*', container: app}, processes: {name: sleep}}" ;;
    esac
    out=$("$faultline" plan "$(scenario "by-$by" "$selector" "    process_kill: {count: 1}")" 2>&1) ||
      fail "plan by $by exited $?: $out"
    local want_name=fl-web
    [[ $by == pods ]] && want_name=fl-pod
    grep -qF -- "-> 1 eligible container(s), would affect 1" <<<"$out" ||
      fail "plan by $by did not find exactly one container: $out"
    grep -q "^      $runtime $want_name " <<<"$out" || fail "plan by $by does not show $want_name: $out"
    echo "$runtime: resolved by $by"
  done
  # With no API answering, a docker or podman container is still found by its cgroup path, by
  # its id alone (containerd's cgroups, /NAMESPACE/ID, name no runtime).
  if [[ $runtime != containerd ]]; then
    out=$(DOCKER_HOST=unix://$scratch/none.sock CONTAINER_HOST=unix://$scratch/none.sock \
      "$faultline" plan "$scratch/by-id.yaml" 2>&1) || fail "plan by cgroup path exited $?: $out"
    grep -q "^      $runtime - ${web_id:0:12} image unknown init pid $web_pid cgroup $cgroup\$" <<<"$out" ||
      fail "plan without an API does not show fl-web found by its cgroup path: $out"
    echo "$runtime: found by cgroup path when no API answers"
  fi
  # The plan shows the container's processes with their pids inside it.
  grep -q "(pid [0-9]* in the container) sleep 60" <<<"$("$faultline" plan "$scratch/by-name.yaml")" ||
    fail "plan does not show fl-web's sleeps with their in-container pids"

  # --- a process fault kills one sleep of fl-web, and nothing outside it -------------------
  local before after journal="$scratch/kill-$runtime.json"
  before=$(cat "/sys/fs/cgroup/unified$cgroup/cgroup.procs" 2>/dev/null || cat "/sys/fs/cgroup$cgroup/cgroup.procs")
  out=$("$faultline" run "$scratch/by-name.yaml" --journal "$journal" 2>&1) ||
    fail "the process_kill run exited $?: $out"
  python3 - "$journal" "$web_id" "$before" <<'PY' || fail "the kill's journal is not what was expected: $out"
import json, sys
j = json.load(open(sys.argv[1])); web_id = sys.argv[2]; before = set(map(int, sys.argv[3].split()))
f = j["faults"][0]
containers = f["observed"]["containers"]
assert len(containers) == 1, containers
c = containers[0]
assert c["id"] == web_id and c["name"] == "fl-web" and c["confirmed"], c
victims = [v for r in c["observed"]["rounds"] for v in r["victims"]]
assert len(victims) == 1 and victims[0]["pid"] in before and victims[0]["exited"], (victims, before)
assert 1 < victims[0]["pid_in_container"] < 100, victims

PY
  kill -0 "$outside" || fail "the sleep outside the container was killed"
  eventually bash -c "[[ \$(grep -c . /sys/fs/cgroup/unified$cgroup/cgroup.procs 2>/dev/null || grep -c . /sys/fs/cgroup$cgroup/cgroup.procs) -eq 2 ]]" ||
    fail "fl-web does not have exactly its sh and one sleep left"
  echo "$runtime: process_kill hit one sleep in fl-web, none outside"

  # --- a network fault: its table is in fl-web's network namespace, not the host's ---------
  local partition
  partition=$(scenario net "{containers: {runtime: $runtime, name: fl-web}}" \
    "    duration: 3s
    network_partition: {destination: 127.0.0.2/32, protocol: tcp, ports: 9, direction: outgoing}")
  "$faultline" run "$partition" --journal "$scratch/net-$runtime.json" >"$scratch/net.out" 2>&1 &
  background=$!
  eventually bash -c "nsenter -t $web_pid -n nft list tables | grep -q 'inet faultline_'" ||
    fail "no faultline table appeared in fl-web's network namespace: $(cat "$scratch/net.out")"
  nft list tables | grep -q 'inet faultline_' && fail "the partition's table is in the host's namespace"
  wait "$background" || fail "the network_partition run exited $?: $(cat "$scratch/net.out")"
  background=""
  nsenter -t "$web_pid" -n nft list tables | grep -q 'inet faultline_' &&
    fail "the table was left in fl-web's namespace"
  echo "$runtime: network_partition acted in fl-web's namespace only"

  # --- a DNS fault in fl-web's namespace: a query made there (drill, through nsenter) gets
  # NXDOMAIN for the matching name from faultline's responder, though no resolver listens there
  # (the container has no network) -------------------------------------------------------------
  local dns
  dns=$(scenario dns "{containers: {runtime: $runtime, name: fl-web}}" \
    "    duration: 4s
    dns: {names: blocked.example, action: nxdomain}")
  "$faultline" run "$dns" --journal "$scratch/dns-$runtime.json" >"$scratch/dns.out" 2>&1 &
  background=$!
  eventually bash -c "nsenter -t $web_pid -n nft list tables | grep -q 'inet faultline_dns'" ||
    fail "no DNS table appeared in fl-web's network namespace: $(cat "$scratch/dns.out")"
  nft list tables | grep -q 'inet faultline_dns' && fail "the DNS table is in the host's namespace"
  out=$(nsenter -t "$web_pid" -n drill blocked.example @127.0.0.1 A 2>&1)
  grep -q "rcode: NXDOMAIN" <<<"$out" || fail "blocked.example did not get NXDOMAIN in fl-web: $out"
  wait "$background" || fail "the dns run exited $?: $(cat "$scratch/dns.out")"
  background=""
  nsenter -t "$web_pid" -n nft list tables | grep -q 'inet faultline_' &&
    fail "the DNS table was left in fl-web's namespace"
  echo "$runtime: dns answered NXDOMAIN inside fl-web only"

  # --- a CPU fault charges fl-web's cgroup: its worker runs in a cgroup below the container's --
  local cpu_cgroup stress
  cpu_cgroup=$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ {print $3}' "/proc/$web_pid/cgroup")
  stress=$(scenario cpu "{containers: {runtime: $runtime, name: fl-web}}" \
    "    duration: 3s
    cpu_stress: {load: 20%, workers: 1}")
  "$faultline" run "$stress" --journal "$scratch/cpu-$runtime.json" >"$scratch/cpu.out" 2>&1 &
  background=$!
  # The hierarchy with the cpu controller: v1's on a hybrid host, else the v2 tree.
  local cpu_dir=/sys/fs/cgroup$cgroup m
  for m in /sys/fs/cgroup/*; do
    [[ -e $m/cpu.cfs_quota_us && ! -L $m ]] && cpu_dir=$m$cpu_cgroup && break
  done
  eventually bash -c "ls -d $cpu_dir/faultline-* >/dev/null 2>&1" ||
    fail "no worker cgroup appeared below fl-web's: $(cat "$scratch/cpu.out")"
  wait "$background" || fail "the cpu_stress run exited $?: $(cat "$scratch/cpu.out")"
  background=""
  ls -d "$cpu_dir"/faultline-* 2>/dev/null &&
    fail "the workers' cgroup was left below fl-web's"
  echo "$runtime: cpu_stress ran below fl-web's cgroup"

  # --- memory_pressure charged to the container: its workers' cgroup is below fl-web's in the
  # hierarchy with the memory controller (v1's on a hybrid host, else the v2 tree) -------------
  local mem_cgroup mem_dir=/sys/fs/cgroup$cgroup squeeze
  mem_cgroup=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' "/proc/$web_pid/cgroup")
  [[ -e /sys/fs/cgroup/memory/memory.limit_in_bytes ]] && mem_dir=/sys/fs/cgroup/memory$mem_cgroup
  squeeze=$(scenario squeeze "{containers: {runtime: $runtime, name: fl-web}}" \
    "    duration: 3s
    memory_pressure: {bytes: 16MiB, into: target}")
  "$faultline" run "$squeeze" --journal "$scratch/mem-$runtime.json" >"$scratch/mem.out" 2>&1 &
  background=$!
  eventually bash -c "ls -d $mem_dir/faultline-*-mem-* >/dev/null 2>&1" ||
    fail "no memory workers' cgroup appeared below fl-web's ($mem_dir): $(cat "$scratch/mem.out")"
  wait "$background" || fail "the memory_pressure run exited $?: $(cat "$scratch/mem.out")"
  background=""
  ls -d "$mem_dir"/faultline-* 2>/dev/null && fail "the memory workers' cgroup was left below fl-web's"
  grep -q "memory_pressure" "$scratch/mem-$runtime.json" || fail "no memory_pressure in the journal"
  echo "$runtime: memory_pressure was charged below fl-web's memory cgroup"

  # --- the whole container paused through its cgroup's freezer, then thawed ---------------
  local freeze v2=/sys/fs/cgroup/unified
  [[ -d $v2 ]] || v2=/sys/fs/cgroup
  freeze=$(scenario freeze "{containers: {runtime: $runtime, name: fl-web}}" \
    "    duration: 2s
    process_pause: {method: freezer}" ", max_processes: 10")
  "$faultline" run "$freeze" --journal "$scratch/freeze-$runtime.json" >"$scratch/freeze.out" 2>&1 &
  background=$!
  eventually grep -qx "frozen 1" "$v2$cgroup/cgroup.events" ||
    fail "fl-web's cgroup was not frozen: $(cat "$scratch/freeze.out")"
  wait "$background" || fail "the freezer run exited $?: $(cat "$scratch/freeze.out")"
  background=""
  grep -qx "frozen 0" "$v2$cgroup/cgroup.events" || fail "fl-web's cgroup was left frozen"
  echo "$runtime: process_pause froze fl-web's cgroup and thawed it"

  # --- SIGKILL of faultline mid-fault: the guardian undoes every container fault from the
  # undo plans on disk (the table in fl-web's namespace, the freeze, the CPU workers' cgroup) ---
  local killed
  killed=$(scenario killed "{containers: {runtime: $runtime, name: fl-web}}" \
    "    duration: 20s
    network_partition: {destination: 127.0.0.2/32, protocol: tcp, ports: 9, direction: outgoing}
  - name: g
    target: it
    at: 0s
    duration: 20s
    process_pause: {method: freezer}
  - name: h
    target: it
    at: 0s
    duration: 20s
    cpu_stress: {load: 10%, workers: 1}" ", max_processes: 10")
  "$faultline" run "$killed" --journal "$scratch/killed-$runtime.json" >"$scratch/killed.out" 2>&1 &
  background=$!
  eventually bash -c "nsenter -t $web_pid -n nft list tables | grep -q 'inet faultline_' &&
    grep -qx 'frozen 1' $v2$cgroup/cgroup.events && ls -d $cpu_dir/faultline-* >/dev/null 2>&1" ||
    fail "the three faults were not all applied: $(cat "$scratch/killed.out")"
  kill -KILL "$background"
  wait "$background" 2>/dev/null
  background=""
  eventually bash -c "! nsenter -t $web_pid -n nft list tables | grep -q 'inet faultline_' &&
    grep -qx 'frozen 0' $v2$cgroup/cgroup.events && ! ls -d $cpu_dir/faultline-* >/dev/null 2>&1" ||
    fail "after SIGKILL, fl-web was not put back: $(nsenter -t "$web_pid" -n nft list tables; cat "$v2$cgroup/cgroup.events"; ls -d "$cpu_dir"/faultline-* 2>&1)"
  # The guardian forgets the undo plans once performed: it may still be at it for a moment.
  eventually bash -c "! ls /run/faultline/local 2>/dev/null | grep -q ." ||
    fail "an undo file was left: $(ls -la /run/faultline/local)"
  rm -f "$scratch/killed-$runtime.json"  # an interrupted journal; its schema is checked elsewhere
  echo "$runtime: after SIGKILL of faultline, the guardian put fl-web back"

  # --- a protected container is refused, and nothing is touched ---------------------------
  local protected
  protected=$(scenario protected "{containers: {runtime: $runtime, name: fl-db}, processes: {name: sleep}}" \
    "    process_kill: {count: 1}" ", protected_containers: [{label: {app: db}}]")
  out=$("$faultline" plan "$protected" 2>&1)
  [[ $? -eq 2 ]] || fail "plan of a protected container did not exit 2: $out"
  grep -q "fl-db .* excluded: protected by blast_radius.protected_containers" <<<"$out" ||
    fail "plan does not say why fl-db is excluded: $out"
  out=$("$faultline" run "$protected" --journal "$scratch/protected.json" 2>&1)
  [[ $? -eq 2 ]] || fail "run of a protected container did not exit 2: $out"
  [[ $(runtime_pid "$runtime" fl-db) -gt 0 ]] && kill -0 "$(runtime_pid "$runtime" fl-db)" ||
    fail "fl-db is not running any more"
  # A fault aimed at the host's processes spares the protected container's too.
  local db_pid host_wide
  db_pid=$(runtime_pid "$runtime" fl-db)
  host_wide=$(scenario host-wide "{processes: {cmdline: '^(/bin/)?sleep 600\$'}}" \
    "    process_kill: {count: 1}" ", protected_containers: [{labels: {app: db}}]")
  out=$("$faultline" plan "$host_wide" 2>&1)
  grep -q "pid $db_pid *excluded: inside $runtime container fl-db .*protected by blast_radius.protected_containers" <<<"$out" ||
    fail "plan of a host-wide fault does not spare fl-db's process $db_pid: $out"
  echo "$runtime: a protected container is refused"

  # --- through faultline-agent: the agent resolves the containers on its host, and its own
  # policy.protected_containers holds whatever the scenario says --------------------------------
  local port=$((17640 + ran)) agent_pid
  cat > "$scratch/agent.yaml" <<YAML
host: node-1
listen: 127.0.0.1:$port
plaintext: true
state_file: $scratch/agent-state.json
policy:
  allowed_kinds: [process_kill, network_partition]
  protected_containers: [{labels: {app: db}}]
YAML
  printf 'agents:\n  - {name: node-1, address: "127.0.0.1:%s", plaintext: true}\n' "$port" \
    > "$scratch/inventory.yaml"
  "$agent" --config "$scratch/agent.yaml" >"$scratch/agent.log" 2>&1 &
  agent_pid=$!
  background_agent=$agent_pid
  eventually grep -qs "event=ready" "$scratch/agent.log" ||
    fail "faultline-agent did not start: $(cat "$scratch/agent.log")"
  local remote
  remote=$(scenario remote "{hosts: {names: [node-1]}, containers: {runtime: $runtime, name: fl-web}, processes: {name: sleep}}" \
    "    process_kill: {count: 1}")
  out=$("$faultline" run "$remote" --inventory "$scratch/inventory.yaml" \
    --journal "$scratch/remote-$runtime.json" 2>&1) || fail "the run through the agent exited $?: $out"
  grep -q "^      $runtime container fl-web (${web_id:0:12}): SIGKILL to 1 .*: 1/1 exited" <<<"$out" ||
    fail "the run through the agent does not report one sleep of fl-web killed: $out"
  remote=$(scenario remote-protected "{hosts: {names: [node-1]}, containers: {runtime: $runtime, name: fl-db}, processes: {name: sleep}}" \
    "    process_kill: {count: 1}")
  out=$("$faultline" run "$remote" --inventory "$scratch/inventory.yaml" \
    --journal "$scratch/remote-protected-$runtime.json" 2>&1)
  [[ $? -eq 4 ]] || fail "a run on a container the agent protects did not exit 4: $out"
  grep -q "protected by the agent's policy" <<<"$out" || fail "the agent does not say why: $out"
  kill -0 "$(runtime_pid "$runtime" fl-db)" || fail "fl-db was touched through the agent"
  kill -TERM "$agent_pid"
  wait "$agent_pid"
  background_agent=""
  echo "$runtime: through faultline-agent, fl-web was hit and fl-db refused by the agent's policy"

  # Every journal these runs wrote is a valid journal (the container's facts are in observed).
  out=$(python3 "$here/../support/check_journal.py" "$here/../../docs/schema/journal.schema.json" \
    "$scratch"/*-"$runtime".json 2>&1) || fail "a journal does not match its schema: $out"

  runtime_stop_all "$work"
  work=""
}

ran=0
for runtime in "${runtimes[@]}"; do
  if ! runtime_available "$runtime"; then
    echo "$runtime: skipped: $RUNTIME_SKIP_REASON"
    continue
  fi
  check_runtime
  ran=$((ran + 1))
done
if ((ran == 0)); then
  echo "SKIP: no container runtime could run here"
  exit 77
fi
echo "PASSED: container targets on $ran runtime(s)"

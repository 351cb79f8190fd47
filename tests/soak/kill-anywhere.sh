#!/usr/bin/env bash
# Kill-anywhere soak: short scenarios of every fault kind, run locally (`faultline run`) and
# through a real faultline-agent (`faultline run --inventory`), each interrupted at a seeded
# random moment by SIGKILL, SIGTERM or SIGINT sent to faultline, to its guardian, to both
# (guardian first, then `faultline recover`), to the agent, or to the agent and its guardian
# (then the agent is restarted and recovers before it serves). After each run the host must be
# exactly as before, within the lease + 2 s; otherwise the run's seed, number, kind, victim,
# signal, moment and the diff are printed and the soak fails.
#
#   kill-anywhere.sh --faultline BIN --agent BIN [--runs N] [--seed S] [--verbose]
#
# Everything happens in two network namespaces made here (fl-soak-PID-a/b, a veth between them);
# faultline and the agent run inside the first (nsenter --net, so that network_partition's
# nftables table and the agent's loopback port are the namespace's own). Targets are processes
# started here; undo files live in a temporary FAULTLINE_RUN_DIR. All is removed on exit.
set -uo pipefail

runs=40
seed=1
verbose=
faultline=
agent=
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --faultline) faultline=$2; shift 2 ;;
    --agent) agent=$2; shift 2 ;;
    --verbose) verbose=1; shift ;;
    *) echo "kill-anywhere: error: unknown argument '$1' (expected --runs N, --seed S, --faultline BIN, --agent BIN, --verbose)" >&2; exit 2 ;;
  esac
done
if [[ -z $faultline || -z $agent ]]; then
  echo "kill-anywhere: error: --faultline BIN and --agent BIN are required" >&2
  exit 2
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIPPED: the soak needs root (network namespaces, qdiscs, nftables, cgroups, signals)"
  exit 77
fi
for tool in ip tc nft nsenter findmnt; do
  command -v "$tool" >/dev/null || { echo "SKIPPED: '$tool' is not installed"; exit 77; }
done

lease_ms=1000
settle_ms=$((lease_ms + 2000)) # how long the host may take to be put back
tag=fl-soak-$$
ns_a=$tag-a
ns_b=$tag-b
work=$(mktemp -d /tmp/fl-soak.XXXXXX)
export FAULTLINE_RUN_DIR=$work/run
# Every process this soak starts carries the mark in its environment: burners and guardians
# are told apart from those of other faultline processes on the host by it.
export FL_SOAK_MARK=$work
cgroup2=$(findmnt -t cgroup2 -n -o TARGET | head -1)
freezer_cg=
ours=()        # pids of every faultline and agent started: their cgroups are faultline-PID-*
targets=()     # target processes to stop at the end
agent_pid=
agent_port=

in_ns() { nsenter --net="/run/netns/$ns_a" -- "$@"; }

cleanup() {
  if [[ -n $agent_pid ]] && kill -TERM "$agent_pid" 2>/dev/null; then
    for _ in $(seq 250); do kill -0 "$agent_pid" 2>/dev/null || break; sleep 0.02; done
  fi
  for p in "${targets[@]}"; do kill -KILL "$p" 2>/dev/null; done
  if [[ -n $freezer_cg && -d $freezer_cg ]]; then
    echo 0 >"$freezer_cg/cgroup.freeze" 2>/dev/null
    for p in $(cat "$freezer_cg/cgroup.procs" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    sleep 0.1
    rmdir "$freezer_cg" 2>/dev/null
  fi
  ip netns del "$ns_a" 2>/dev/null
  ip netns del "$ns_b" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

setup_failed() { echo "kill-anywhere: error: setup failed: $1" >&2; exit 1; }
ip netns add "$ns_a" || setup_failed "ip netns add $ns_a"
ip netns add "$ns_b" || setup_failed "ip netns add $ns_b"
ip -n "$ns_a" link add fl-soak0 type veth peer name fl-soak1 netns "$ns_b" ||
  setup_failed "ip -n $ns_a link add fl-soak0 type veth peer name fl-soak1 netns $ns_b"
ip -n "$ns_a" addr add 10.77.0.1/24 dev fl-soak0 && ip -n "$ns_a" link set fl-soak0 up &&
  ip -n "$ns_a" link set lo up && ip -n "$ns_b" addr add 10.77.0.2/24 dev fl-soak1 &&
  ip -n "$ns_b" link set fl-soak1 up || setup_failed "addresses and links of $ns_a and $ns_b"
mkdir -p "$FAULTLINE_RUN_DIR" "$work/bin"

# Targets: named copies of sleep, so that their comm is the name a selector matches.
for n in fl-soak-pause fl-soak-kill fl-soak-frz; do cp /bin/sleep "$work/bin/$n"; done
start_target() { # NAME -> pid in $started
  "$work/bin/$1" 100000 &
  started=$!
  disown # bash reaps it when it dies, without a "Killed" line
  targets+=("$started")
}
start_target fl-soak-pause
pause_pid=$started
kill_pid=
respawn_kill_target() {
  if [[ -z $kill_pid || $(awk '{print $3}' /proc/"$kill_pid"/stat 2>/dev/null) =~ ^(Z|)$ ]]; then
    start_target fl-soak-kill
    kill_pid=$started
  fi
}
respawn_kill_target

kinds=(process_kill pause_signal cpu_stress bandwidth network_partition)
notes=()
# The freezer needs a cgroup v2 hierarchy in which this soak can make a cgroup of its own.
if [[ -n $cgroup2 ]] && mkdir "$cgroup2/$tag" 2>/dev/null; then
  freezer_cg=$cgroup2/$tag
  start_target fl-soak-frz
  frz_pid=$started
  echo "$frz_pid" >"$freezer_cg/cgroup.procs" || setup_failed "moving $frz_pid into $freezer_cg"
  kinds+=(pause_freezer)
else
  notes+=("process_pause method freezer left out: no cgroup v2 hierarchy to make $tag in")
fi
# netem is in few kernels' default set (not this CI host's): try it on the namespace's lo. Without
# it the network kind runs on its userspace backend (an NFQUEUE rule through nft_compat, tried
# here in the soak's own namespace).
if in_ns tc qdisc add dev lo root netem delay 1ms 2>/dev/null; then
  in_ns tc qdisc del dev lo root
  kinds+=(network)
elif in_ns iptables-nft -t mangle -A POSTROUTING -o lo -j NFQUEUE --queue-bypass 2>/dev/null; then
  in_ns iptables-nft -t mangle -F POSTROUTING
  in_ns nft delete table ip mangle 2>/dev/null || true
  kinds+=(network)
  notes+=("network runs on its userspace backend: this kernel has no sch_netem")
else
  notes+=("network left out: this kernel has neither sch_netem nor an NFQUEUE target")
fi

# --- the agent ------------------------------------------------------------------------------
agent_port=$(in_ns python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/agent.yaml" <<EOF
host: soak
listen: 127.0.0.1:$agent_port
state_file: $work/agent-state.json
plaintext: true
EOF
cat >"$work/inventory.yaml" <<EOF
agents:
  - {name: soak, address: "127.0.0.1:$agent_port", plaintext: true}
EOF
start_agent() {
  # Not through in_ns: a function sent to the background is a subshell, and $! would be its pid.
  nsenter --net="/run/netns/$ns_a" -- env --default-signal=INT,TERM "$agent" --config "$work/agent.yaml" >>"$work/agent.log" 2>&1 &
  agent_pid=$!
  disown
  ours+=("$agent_pid")
  for _ in $(seq 500); do
    if in_ns bash -c "exec 3<>/dev/tcp/127.0.0.1/$agent_port" 2>/dev/null; then return 0; fi
    kill -0 "$agent_pid" 2>/dev/null || break
    sleep 0.02
  done
  echo "kill-anywhere: error: faultline-agent did not start listening on 127.0.0.1:$agent_port; its log:" >&2
  tail -20 "$work/agent.log" >&2
  exit 1
}
start_agent

# --- the host state -------------------------------------------------------------------------
guardian_of() { # PID -> the pid of its faultline-guard child, if any
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    [[ $(cat /proc/"$c"/comm 2>/dev/null) == faultline-guard ]] && echo "$c" && return
  done
}
marked() { tr '\0' '\n' 2>/dev/null <"/proc/$1/environ" | grep -qx "FL_SOAK_MARK=$work"; }
ours_pattern() { local IFS='|'; echo "^faultline-(${ours[*]})-"; }
state() {
  echo "# qdiscs in $ns_a"
  in_ns tc qdisc show
  echo "# qdiscs in $ns_b"
  ip netns exec "$ns_b" tc qdisc show
  echo "# links in $ns_a"
  ip -n "$ns_a" -o link show | sed 's/\\.*//'
  echo "# ifb links on the host"
  ip -o link show type ifb | awk -F': ' '{print $2}'
  echo "# nftables tables in $ns_a"
  in_ns nft list tables
  echo "# faultline cgroups of this soak's processes"
  find /sys/fs/cgroup -maxdepth 5 -type d -name 'faultline-*' 2>/dev/null |
    awk -F/ '{print $NF" "$0}' | grep -E "$(ours_pattern)" | cut -d' ' -f2 | sort
  echo "# target processes stopped (T) or frozen"
  for p in "$pause_pid" ${frz_pid:+"$frz_pid"}; do
    echo "$(cat /proc/"$p"/comm) state $(awk '{print $3}' /proc/"$p"/stat)"
  done
  if [[ -n $freezer_cg ]]; then
    echo "$tag cgroup.freeze $(cat "$freezer_cg/cgroup.freeze")"
    grep frozen "$freezer_cg/cgroup.events" | sed "s/^/$tag /"
  fi
  echo "# CPU burners and guardians of this soak (by the parent's name)"
  for p in $(pgrep -x 'faultline-cpu|faultline-guard'); do
    marked "$p" || continue
    read -r st pp < <(awk '{print $3, $4}' /proc/"$p"/stat 2>/dev/null) || continue
    [[ $st == Z ]] && continue # exited, waiting for its parent to reap it: holds nothing
    echo "$(cat /proc/"$p"/comm 2>/dev/null) of $(cat /proc/"$pp"/comm 2>/dev/null)"
  done | sort
  echo "# undo files left"
  ls "$FAULTLINE_RUN_DIR/local" 2>/dev/null
  echo "# agent state entries"
  if [[ -f $work/agent-state.json ]]; then
    python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["entries"]))' "$work/agent-state.json" 2>&1
  else
    echo 0 # not written yet
  fi
}

# --- scenarios ------------------------------------------------------------------------------
# The seed drives everything below: bash's RANDOM, seeded once, read only in this shell.
RANDOM=$seed
pick() { r=$((RANDOM % $1)); }

scenario() { # KIND MODE DURATION_MS -> prints the scenario
  local kind=$1 mode=$2 dur=$3 where target='' params
  if [[ $mode == agent ]]; then where='hosts: {names: [soak]}'; else where='host: local'; fi
  case $kind in
    process_kill) target="kill"; params="process_kill: {signal: SIGKILL}" ;;
    pause_signal) target=pause; params="process_pause: {method: signal}" ;;
    pause_freezer) target=frozen; params="process_pause: {method: freezer}" ;;
    cpu_stress) target=host; params="cpu_stress: {load: 30%, workers: 2}" ;;
    bandwidth) target=host; params="bandwidth: {interface: fl-soak0, rate: 1mbit, direction: both}" ;;
    network) target=host; params="network: {interface: fl-soak0, delay: 20ms, direction: both}" ;;
    network_partition)
      target=host
      params="network_partition: {destination: 10.77.0.2/32, direction: both}" ;;
  esac
  cat <<EOF
version: 1
title: soak $kind ($mode)
targets:
  kill: {$where, processes: {name: fl-soak-kill}}
  pause: {$where, processes: {name: fl-soak-pause}}
  frozen: {$where, processes: {cgroup: /$tag}}
  host: {$where}
blast_radius: {max_duration: 1m, max_processes: 1, max_hosts: 1}
phases: {before: 150ms, after: 100ms}
recovery: {within: 100ms}
faults:
  - name: soak
    target: $target
    at: 0s
    duration: ${dur}ms
    $params
EOF
}
# A target group that is not used still has to match; drop those of other kinds.
trim_targets() { # KIND: keeps only the group the fault uses
  local keep=$1
  awk -v keep="$keep" '/^targets:/{t=1; print; next} t && /^  [a-z]+:/{split($1,a,":"); if (a[1]!=keep) next}
       /^[a-z]/{t=0} {print}'
}

wait_gone() { # PID MS: true once PID has exited (reaped if it is our child)
  local pid=$1 left=$2
  while kill -0 "$pid" 2>/dev/null; do
    if [[ $(awk '{print $3}' /proc/"$pid"/stat 2>/dev/null) == Z ]]; then break; fi
    ((left <= 0)) && return 1
    sleep 0.02
    left=$((left - 20))
  done
  return 0
}

kills=0
leftovers=0
declare -A seen
baseline=$(state)
started_at=$(date +%s%N)
signals=(KILL TERM INT)
local_victims=(faultline guardian both)
agent_victims=(faultline guardian both agent agent+guardian)
for ((run = 1; run <= runs; run++)); do
  # Kind and mode cycle, so that every pair is covered in a dozen runs; the rest is random.
  kind=${kinds[$(((run - 1) % ${#kinds[@]}))]}
  if (((run - 1) / ${#kinds[@]} % 2)); then mode=agent; else mode=local; fi
  if [[ $mode == agent ]]; then
    pick ${#agent_victims[@]}
    victim=${agent_victims[$r]}
  else
    pick ${#local_victims[@]}
    victim=${local_victims[$r]}
  fi
  pick 3
  sig=${signals[$r]}
  [[ $victim == agent+guardian ]] && sig=KILL
  pick 500
  dur=$((1000 + r))
  # From launch to a little after the run's natural end (start-up, before, fault, after).
  pick $((400 + 150 + dur + 300))
  moment=$r

  respawn_kill_target
  # process_kill leaves nothing to see but its victim's death (the target is started anew).
  [[ $kind == process_kill ]] && killed_before=$kill_pid
  case $kind in
    process_kill) group="kill" ;; pause_signal) group=pause ;; pause_freezer) group=frozen ;;
    *) group=host ;;
  esac
  scenario "$kind" "$mode" "$dur" | trim_targets "$group" >"$work/scenario.yaml"
  args=(run "$work/scenario.yaml" --seed "$run")
  [[ $mode == agent ]] && args+=(--inventory "$work/inventory.yaml" --lease "$((lease_ms / 1000))s")
  nsenter --net="/run/netns/$ns_a" -- env --default-signal=INT,TERM "$faultline" "${args[@]}" >"$work/run.out" 2>&1 &
  fl_pid=$!
  disown
  ours+=("$fl_pid")
  launched=$(($(date +%s%N) / 1000000))
  sleep "$(printf '0.%03d' $((moment % 1000)))"
  ((moment >= 1000)) && sleep $((moment / 1000))
  # What the checker sees just before the signal: each kind must be seen applied at least once,
  # or the check could not tell that kind's leftover from a clean host.
  [[ $(state) != "$baseline" ]] && seen[$kind]=1
  moment=$(($(date +%s%N) / 1000000 - launched)) # as it happened, after the look

  delivered=
  case $victim in
    faultline) kill -"$sig" "$fl_pid" 2>/dev/null && delivered=1 ;;
    guardian)
      g=$(guardian_of "$fl_pid")
      [[ -n $g ]] && kill -"$sig" "$g" 2>/dev/null && delivered=1 ;;
    both)
      # The double kill, as `kill -9 -PGID` or the OOM killer would: the guardian first.
      g=$(guardian_of "$fl_pid")
      if [[ -n $g ]] && kill -KILL "$g" 2>/dev/null; then
        wait_gone "$g" 2000
        kill -"$sig" "$fl_pid" 2>/dev/null && delivered=1
      fi ;;
    agent) kill -"$sig" "$agent_pid" 2>/dev/null && delivered=1 ;;
    agent+guardian)
      g=$(guardian_of "$agent_pid")
      [[ -n $g ]] && kill -KILL "$g" 2>/dev/null && wait_gone "$g" 2000
      kill -KILL "$agent_pid" 2>/dev/null && delivered=1 ;;
  esac
  [[ -n $delivered ]] && kills=$((kills + 1))

  problem=
  if ! wait_gone "$fl_pid" 20000; then
    problem="faultline did not exit within 20 s of the moment"
    kill -KILL "$fl_pid" 2>/dev/null
  fi
  if [[ $victim == both && -n $delivered ]]; then
    in_ns "$faultline" recover >"$work/recover.out" 2>&1
  fi
  if [[ $victim == agent* ]]; then
    # Its guardian (if alive) puts the host back; a restarted agent recovers before it serves.
    wait_gone "$agent_pid" 5000 || problem="faultline-agent did not exit after SIG$sig"
    start_agent
  fi

  deadline=$(($(date +%s%N) / 1000000 + settle_ms))
  while now=$(state); [[ $now != "$baseline" ]] && (($(date +%s%N) / 1000000 < deadline)); do
    sleep 0.05
  done
  if [[ $kind == process_kill && $(awk '{print $3}' /proc/"$killed_before"/stat 2>/dev/null) =~ ^(Z|)$ ]]; then
    seen[$kind]=1
  fi
  if [[ $now != "$baseline" || -n $problem ]]; then
    leftovers=$((leftovers + 1))
    echo "LEFTOVER: seed $seed run $run: kind $kind ($mode), victim $victim, signal SIG$sig," \
      "moment ${moment}ms after launch (fault ${dur}ms)${delivered:+, delivered}${delivered:-, not delivered (already gone)}"
    [[ -n $problem ]] && echo "  $problem"
    diff <(echo "$baseline") <(echo "$now") | sed 's/^/  /'
    echo "  faultline's output:"
    sed 's/^/    /' "$work/run.out" | tail -30
    [[ -s $work/recover.out ]] && { echo "  recover's output:"; sed 's/^/    /' "$work/recover.out"; }
    echo "  agent log (tail):"
    tail -10 "$work/agent.log" | sed 's/^/    /'
    break
  fi
  [[ -n $verbose ]] && echo "run $run: $kind ($mode), SIG$sig to $victim at ${moment}ms (fault ${dur}ms)${delivered:+, delivered}: clean"
  rm -f "$work/recover.out"
done
elapsed=$((($(date +%s%N) - started_at) / 1000000))
for n in "${notes[@]}"; do echo "note: $n"; done
unseen=0
if ((leftovers == 0)); then
  for k in "${kinds[@]}"; do
    if [[ -z ${seen[$k]:-} ]]; then
      echo "kill-anywhere: error: no $k fault was ever seen applied by the check: it cannot tell" \
        "that kind's leftovers from a clean host (more --runs, or the check misses what it applies)"
      unseen=1
    fi
  done
fi
echo "kinds: ${kinds[*]}; seed $seed; $((elapsed / 1000)).$(printf '%03d' $((elapsed % 1000))) s"
echo "$((run > runs ? runs : run)) runs, $kills kills, $leftovers leftovers"
((leftovers == 0 && unseen == 0))

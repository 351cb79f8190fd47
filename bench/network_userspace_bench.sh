#!/usr/bin/env bash
# The network kind's backends side by side: TCP through a 10 ms delay (iperf3), latency added
# beyond the requested delay (ping, p50 and p99), and for the userspace backend the packets per
# second it passes and its CPU per packet. Everything runs between two network namespaces that
# this script makes (veth 10.201.0.1 <-> 10.201.0.2) and removes, whatever happens.
#
#   bench/network_userspace_bench.sh FAULTLINE [BACKENDS=userspace] [SECONDS=5]
#
# BACKENDS is a comma list of netem and userspace. This kernel has no netem: run both in the
# kernel lab, where they are measured the same way in the same run:
#   tests/kernel-lab/run-in-guest.sh --timeout 900 -- \
#     bench/network_userspace_bench.sh build/controller/faultline netem,userspace
set -euo pipefail

faultline=$(realpath "${1:?usage: $0 FAULTLINE [BACKENDS] [SECONDS]}")
IFS=, read -r -a backends <<< "${2:-userspace}"
seconds=${3:-5}
[[ $(id -u) -eq 0 ]] || { echo "$0: run as root (it makes network namespaces)" >&2; exit 77; }
for tool in ip ping iperf3 awk; do
  command -v "$tool" > /dev/null || { echo "$0: $tool is missing" >&2; exit 77; }
done

ns_a=fl-bench-nq-a-$$ ns_b=fl-bench-nq-b-$$
work=$(mktemp -d)
inject_pid=
cleanup() {
  [[ -n $inject_pid ]] && kill -INT "$inject_pid" 2> /dev/null && wait "$inject_pid" 2> /dev/null
  ip netns pids "$ns_b" 2> /dev/null | xargs -r kill 2> /dev/null || true
  ip netns del "$ns_a" 2> /dev/null || true
  ip netns del "$ns_b" 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns_a"
ip netns add "$ns_b"
ip link add veth-nq netns "$ns_a" type veth peer name veth-nq netns "$ns_b"
ip -n "$ns_a" addr add 10.201.0.1/24 dev veth-nq
ip -n "$ns_b" addr add 10.201.0.2/24 dev veth-nq
for ns in "$ns_a" "$ns_b"; do ip -n "$ns" link set lo up; ip -n "$ns" link set veth-nq up; done
ip netns exec "$ns_a" ping -c 3 -i 0.2 -W 2 10.201.0.2 > /dev/null
ip netns exec "$ns_b" iperf3 -s -D -1 --logfile "$work/iperf-server.log" > /dev/null 2>&1 || true

a() { ip netns exec "$ns_a" "$@"; }

# Each RTT in ms of COUNT pings at INTERVAL.
rtts() { a ping -n -c "$1" -i "$2" -W 2 10.201.0.2 | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p'; }
# p50 and p99 of numbers on stdin.
percentiles() { sort -g | awk '{v[NR]=$1} END {if (NR==0) {print "- -"; exit}
  p50=v[int((NR+1)*0.50)>0?int((NR+1)*0.50):1]; i=int(NR*0.99+0.5); if(i<1)i=1; if(i>NR)i=NR
  printf "%.3f %.3f\n", p50, v[i]}'; }
# TCP throughput in Mbit/s for SECONDS.
tcp_mbits() {
  ip netns exec "$ns_b" iperf3 -s -D -1 > /dev/null 2>&1
  sleep 0.3
  a iperf3 -c 10.201.0.2 -t "$seconds" -J | awk -F: '/"sum_received"/ {f=1} f && /"bits_per_second"/ {
    gsub(/[ ,]/, "", $2); printf "%.0f\n", $2 / 1e6; exit}'
}
# Datagrams per second that arrive, of 64-byte UDP sent as fast as iperf3 can.
udp_pps() {
  ip netns exec "$ns_b" iperf3 -s -D -1 > /dev/null 2>&1
  sleep 0.3
  a iperf3 -c 10.201.0.2 -u -b 0 -l 64 -t "$seconds" -J | awk -F: '/"sum"/ {f=1}
    f && /"packets"/ {gsub(/[ ,]/, "", $2); p=$2} f && /"lost_packets"/ {gsub(/[ ,]/, "", $2); l=$2}
    f && /"seconds"/ {gsub(/[ ,]/, "", $2); s=$2} END {printf "%.0f\n", (p - l) / s}'
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

start_fault() {  # BACKEND PARAMS...
  local backend=$1; shift
  "$faultline" inject network --duration 10m interface=veth-nq "netns=$ns_a" \
    destination=10.201.0.2/32 "backend=$backend" "$@" > "$work/inject.out" 2> "$work/inject.err" &
  inject_pid=$!
  for _ in $(seq 200); do grep -q '^applied' "$work/inject.err" && return 0; sleep 0.05; done
  echo "$0: faultline inject did not apply:" >&2; cat "$work/inject.err" >&2; exit 1
}
stop_fault() {
  kill -INT "$inject_pid"; wait "$inject_pid" || true; inject_pid=
}

echo "kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
base=$(rtts 200 0.01 | percentiles)
base_p50=${base% *}
base_tcp=$(tcp_mbits)
base_pps=$(udp_pps)
echo "no fault: RTT p50 ${base_p50} ms (p99 ${base#* }), TCP ${base_tcp} Mbit/s, UDP 64 B ${base_pps} datagrams/s"
printf '%-10s %14s %14s %14s %14s %14s %14s %14s\n' backend "TCP @10ms out" "TCP @10ms in" \
  "added p50 ms" "added p99 ms" "UDP pps @1ms" "CPU us/packet" "late p99"
for backend in "${backends[@]}"; do
  start_fault "$backend" delay=10ms
  added=$(rtts 500 0.005 | awk -v b="$base_p50" '{printf "%.3f\n", $1 - 10 - b}' | percentiles)
  tcp=$(tcp_mbits)
  stop_fault
  # The same delay on the sender's ingress: its ACKs wait instead of its data.
  start_fault "$backend" delay=10ms direction=ingress
  tcp_in=$(tcp_mbits)
  stop_fault
  late=$(grep -o 'us at p99' "$work/inject.out" > /dev/null && sed -n 's/.*, \([0-9]*\) us at p99.*/\1 us/p' "$work/inject.out" || echo -)
  start_fault "$backend" delay=1ms
  before=$(cpu_ticks "$inject_pid")
  pps=$(udp_pps)
  after=$(cpu_ticks "$inject_pid")
  held=$(sed -n 's/.*: \([0-9]*\) packets held.*/\1/p' "$work/inject.out")
  stop_fault
  held=$(sed -n 's/.*: \([0-9]*\) packets held.*/\1/p' "$work/inject.out")
  per_packet=-
  if [[ -n $held && $held -gt 0 ]]; then
    per_packet=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$held" \
      'BEGIN {printf "%.2f", t / hz * 1e6 / n}')
  fi
  printf '%-10s %7s Mbit/s %7s Mbit/s %14s %14s %14s %14s %14s\n' "$backend" "$tcp" "$tcp_in" \
    "${added% *}" "${added#* }" "$pps" "$per_packet" "$late"
done
echo "(TCP out: the delay on the sender's egress (its data waits); in: on its ingress (its ACKs" \
  "wait). added = RTT - 10 ms - the RTT without a fault. CPU per packet: faultline's utime+stime" \
  "over the packets it held; netem has no process, so none)"

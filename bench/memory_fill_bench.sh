#!/usr/bin/env bash
# memory_pressure against stress-ng, in the same run: how long until N bytes are resident (from
# launching the command to the worker's VmRSS reaching N, polled every 2 ms), and the CPU the
# worker uses while it holds them (utime+stime over HOLD seconds). Peers: `stress-ng --vm 1
# --vm-bytes N --vm-keep` (its worker keeps rewriting the memory), and the same with --vm-hang 0
# (it allocates once, then sleeps). Also faultline's own figure: reached_after_ms, the worker's
# fill time by its own clock. Prints figures and ratios.
#   memory_fill_bench.sh FAULTLINE [N=1GiB in MiB: 1024] [ROUNDS=3] [HOLD=5]      (as root)
set -uo pipefail
faultline=$1 mib=${2:-1024} rounds=${3:-3} hold=${4:-5}
[[ $(id -u) -eq 0 ]] || { echo "run as root (memory_pressure makes a cgroup)"; exit 2; }
command -v stress-ng >/dev/null || { echo "needs stress-ng (apt-get install stress-ng)"; exit 2; }
scratch=$(mktemp -d /tmp/fl-bench-mem.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null; done; wait; rm -rf "$scratch"' EXIT

# Runs COMMAND in the background and measures its worker (comm WORKER, a descendant): seconds
# from launch until VmRSS >= the size, then CPU seconds used over HOLD seconds of holding.
measure() {  # WORKER COMMAND...
  local worker=$1; shift
  local t0; t0=$(date +%s.%N)
  "$@" >"$scratch/out" 2>&1 &
  local pid=$!
  pids+=("$pid")
  python3 - "$worker" "$t0" "$((mib * 1024 * 1024))" "$hold" "$pid" >"$scratch/figures" <<'PY'
import os, sys, time
worker, t0, want, hold, root = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
tick = os.sysconf("SC_CLK_TCK")
def descendants():
    kids = {}
    for p in os.listdir("/proc"):
        if not p.isdigit(): continue
        try:
            s = open(f"/proc/{p}/stat").read()
        except OSError:
            continue
        r = s.rindex(")")
        kids.setdefault(int(s[r + 2:].split()[1]), []).append((int(p), s[s.index("(") + 1:r]))
    out, todo = [], [root]
    while todo:
        for pid, comm in kids.get(todo.pop(), []):
            out.append((pid, comm)); todo.append(pid)
    return out
def rss(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"): return int(line.split()[1]) * 1024
    return 0
def cpu(pid):
    s = open(f"/proc/{pid}/stat").read()
    f = s[s.rindex(")") + 2:].split()
    return (int(f[11]) + int(f[12])) / tick
deadline = time.time() + 120
reached = None
while time.time() < deadline and reached is None:
    for pid, comm in descendants():
        if comm.startswith(worker):
            try:
                if rss(pid) >= want: reached = (pid, time.time() - t0)
            except OSError:
                pass
    time.sleep(0.002)
if reached is None:
    print("nan nan"); sys.exit(0)
pid, took = reached
c0 = cpu(pid); time.sleep(hold); c1 = cpu(pid)
print(f"{took:.3f} {100 * (c1 - c0) / hold:.2f}")
PY
  kill -INT "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pids=()
}

n="${mib}MiB"
for ((r = 1; r <= rounds; r++)); do
  measure faultline-mem "$faultline" inject memory_pressure --duration 60s "bytes=$n"
  read -r fl_fill fl_cpu < "$scratch/figures"
  own=$(grep -o '"reached_after_ms":[0-9]*' "$scratch/out" | cut -d: -f2)
  measure stress-ng-vm stress-ng --vm 1 --vm-bytes "${mib}M" --vm-keep --timeout 60s
  read -r keep_fill keep_cpu < "$scratch/figures"
  measure stress-ng-vm stress-ng --vm 1 --vm-bytes "${mib}M" --vm-hang 0 --timeout 60s
  read -r hang_fill hang_cpu < "$scratch/figures"
  echo "round $r: fill $n: faultline ${fl_fill}s (own clock ${own:-?} ms), stress-ng --vm-keep" \
       "${keep_fill}s, --vm-hang 0 ${hang_fill}s; CPU while holding: faultline ${fl_cpu}%," \
       "--vm-keep ${keep_cpu}%, --vm-hang 0 ${hang_cpu}%"
  echo "$fl_fill $keep_fill $hang_fill $fl_cpu $keep_cpu $hang_cpu" >> "$scratch/rounds"
done
python3 - "$scratch/rounds" "$n" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
m = [statistics.median(c) for c in zip(*rows)]
print(f"median of {len(rows)} rounds, fill {sys.argv[2]} (launch -> VmRSS reached):")
print(f"  faultline memory_pressure {m[0]:.3f} s; stress-ng --vm-keep {m[1]:.3f} s "
      f"(faultline/stress-ng {m[0] / m[1]:.2f}x); --vm-hang 0 {m[2]:.3f} s ({m[0] / m[2]:.2f}x)")
print(f"  CPU while holding (% of a core): faultline {m[3]:.2f}; stress-ng --vm-keep {m[4]:.2f}; "
      f"--vm-hang 0 {m[5]:.2f}")
PY

#!/usr/bin/env bash
# A multi-host run on one machine: builds, brings up a 3-host lab (`faultline lab up`: network
# namespaces on a bridge, one agent each with mutual TLS), starts nginx in every lab host, runs
# scenarios/lab-multi-host.yaml against them, and removes everything it started, whatever happens.
# As root. With --no-build, uses the binaries already built, in build/ or in the build
# directory given with --build-dir DIR (an out-of-tree build, as CTest passes it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir="$root/build"
build=yes
while [[ $# -gt 0 ]]; do
  case $1 in
    --no-build) build=no; shift ;;
    --build-dir)
      [[ $# -ge 2 ]] || { echo "lab-demo: error: --build-dir needs a directory" >&2; exit 2; }
      build_dir=$(cd "$2" && pwd); shift 2 ;;
    *) break ;;
  esac
done
if [[ $build == yes ]]; then
  "$root/scripts/install-deps.sh"
  "$root/scripts/build.sh"
fi
faultline="$build_dir/controller/faultline"
if [[ ! -x $faultline ]]; then
  echo "lab-demo: error: $faultline is not built; build first, or pass --build-dir DIR" >&2
  exit 2
fi
dir=/tmp/faultline-lab-demo
hosts=3
journal="$build_dir/lab-demo-journal.json"

cleanup() {
  for i in $(seq "$hosts"); do
    pidfile="$dir/nginx/lab-$i/nginx.pid"
    [[ -s $pidfile ]] && kill -QUIT "$(cat "$pidfile")" 2>/dev/null || true
  done
  "$faultline" lab down --dir "$dir/lab" >/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

rm -rf "$dir"
"$faultline" lab up --hosts "$hosts" --dir "$dir/lab"
for i in $(seq "$hosts"); do
  site="$dir/nginx/lab-$i"
  mkdir -p "$site/html" "$site/logs"
  echo "lab-$i" > "$site/html/index.html"
  cat > "$site/nginx.conf" <<CONF
worker_processes 2;
pid $site/nginx.pid;
error_log $site/logs/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  server {
    listen 10.213.0.$((10 + i)):8080;
    root $site/html;
  }
}
CONF
  # nginx runs inside the lab host's network namespace: only that host's agent may touch it.
  ip netns exec "fl-lab-$i" /usr/sbin/nginx -p "$site" -c "$site/nginx.conf"
done
for i in $(seq "$hosts"); do
  for _ in $(seq 100); do
    curl -fsS -o /dev/null "http://10.213.0.$((10 + i)):8080/" 2>/dev/null && break
    sleep 0.05
  done
done
echo "nginx serves on 10.213.0.11-$((10 + hosts)):8080 inside the lab hosts; starting the scenario"
echo
"$faultline" agents --inventory "$dir/lab/inventory.yaml"
echo
status=0
"$faultline" run "$root/scenarios/lab-multi-host.yaml" --inventory "$dir/lab/inventory.yaml" \
  --journal "$journal" "$@" || status=$?
exit "$status"

#!/usr/bin/env bash
# The README's demo command: installs what is needed, builds, starts a real nginx on
# 127.0.0.1:18080, runs scenarios/nginx-demo.yaml against it, and removes everything it started.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"

dir=/tmp/faultline-demo
journal="$root/build/nginx-demo-journal.json"
nginx_pid=""
cleanup() {
  if [[ -n $nginx_pid ]] && kill -0 "$nginx_pid" 2>/dev/null; then
    kill -QUIT "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

if ss -ltn 2>/dev/null | grep -q '127.0.0.1:18080 '; then
  echo "demo.sh: error: 127.0.0.1:18080 is already in use; stop what listens there and retry" >&2
  exit 2
fi
rm -rf "$dir"
mkdir -p "$dir/html" "$dir/logs"
echo '<html><body><h1>faultline demo</h1></body></html>' > "$dir/html/index.html"
cat > "$dir/nginx.conf" <<CONF
daemon off;
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  server {
    listen 127.0.0.1:18080;
    root $dir/html;
  }
}
CONF
/usr/sbin/nginx -p "$dir" -c "$dir/nginx.conf" &
nginx_pid=$!
for _ in $(seq 100); do
  curl -fsS -o /dev/null http://127.0.0.1:18080/ 2>/dev/null && [[ -s $dir/nginx.pid ]] && break
  sleep 0.05
done
echo "nginx is serving on http://127.0.0.1:18080/ (master pid $nginx_pid); starting the scenario"
echo
status=0
"$root/build/controller/faultline" run "$root/scenarios/nginx-demo.yaml" --journal "$journal" \
  --html "$root/build/nginx-demo-report.html" --junit "$root/build/nginx-demo-junit.xml" || status=$?
echo "reports: build/nginx-demo-report.html (open it in a browser), build/nginx-demo-junit.xml"
exit "$status"

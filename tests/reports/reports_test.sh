#!/usr/bin/env bash
# A real run with every report asked for, then each report checked the way its reader would:
#   - the journal against docs/schema/journal.schema.json (python3-jsonschema);
#   - `faultline report` of the saved journal prints the run's summary exactly, and writes the
#     same JUnit, Markdown and textfile the run wrote;
#   - the JUnit file against docs/schema/junit.xsd (xmllint);
#   - the HTML page in headless Chromium: no console error, one lane per probe and one shaded
#     window per fault in the DOM, and a screenshot left in OUT_DIR.
# The run pauses a Python web server that this test starts on loopback and stops.
#   reports_test.sh FAULTLINE SOURCE_DIR OUT_DIR
set -uo pipefail
faultline=$1 source_dir=$2 out=$3
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: a local run keeps its undo under /run/faultline: run as root"
  exit 77
fi
for tool in python3 xmllint chromium; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/install-deps.sh installs it)"; exit 77; }
done
python3 -c 'import jsonschema' 2>/dev/null || { echo "SKIP: python3-jsonschema is not installed"; exit 77; }

work=$(mktemp -d /tmp/fl-reports.XXXXXX)
server=""
cleanup() {
  [[ -n $server ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$out"
fail() { echo "FAILED: $*"; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work" >/dev/null 2>&1 &
server=$!
for _ in $(seq 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
  sleep 0.05
done

cat > "$work/pause.yaml" <<YAML
version: 1
title: web survives a 2 s pause
targets:
  web:
    processes:
      cmdline: "http.server $port"
blast_radius:
  max_duration: 1m
  max_processes: 1
steady_state:
  - name: home
    http: {url: "http://127.0.0.1:$port/", timeout: 300ms}
    expect: {status: [200], max_latency: 200ms}
    interval: 250ms
    tolerance: {during: 100%}
  - name: port
    tcp: {address: "127.0.0.1:$port", timeout: 300ms}
    expect: {connects: true}
    interval: 500ms
    tolerance: {during: 100%}
recovery:
  within: 3s
phases: {before: 1s}
faults:
  - name: freeze-web
    target: web
    at: 0s
    duration: 2s
    process_pause: {}
YAML

cd "$work"
"$faultline" run pause.yaml --journal run.json --junit run.xml --html run.html --markdown run.md \
  --metrics-textfile run.prom >run.out 2>run.err
rc=$?
[[ $rc -eq 0 ]] || { cat run.out run.err; fail "faultline run exited $rc, expected 0 (held)"; }

python3 - "$source_dir/docs/schema/journal.schema.json" run.json <<'PY' || fail "the journal does not match its schema"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
errors = list(jsonschema.Draft202012Validator(schema).iter_errors(json.load(open(sys.argv[2]))))
for e in errors[:10]:
    print("/".join(map(str, e.absolute_path)), e.message[:300])
sys.exit(1 if errors else 0)
PY

# The run printed its summary and then "journal: run.json"; the report prints the summary.
"$faultline" report run.json >report.out || fail "faultline report run.json failed"
head -n -1 run.out >run.summary
diff -u run.summary report.out || fail "faultline report's text differs from the run's summary"
for f in junit:run.xml markdown:run.md metrics:run.prom html:run.html; do
  "$faultline" report run.json --format "${f%%:*}" --out "again.${f#*:}" ||
    fail "faultline report --format ${f%%:*} failed"
  cmp "${f#*:}" "again.${f#*:}" || fail "the ${f%%:*} report from the journal differs from the run's"
done

xmllint --noout --schema "$source_dir/docs/schema/junit.xsd" run.xml || fail "run.xml is not valid JUnit"
[[ $(grep -c '<testcase ' run.xml) -eq 8 ]] || fail "expected 8 testcases in run.xml: $(cat run.xml)"
grep -q '^faultline_run_exit_code{scenario="web survives a 2 s pause"} 0$' run.prom ||
  fail "run.prom lacks the exit code: $(cat run.prom)"
grep -q '^\*\*HELD\*\* (exit 0)' run.md || fail "run.md does not lead with the verdict: $(head -5 run.md)"

# Chromium writes its profile under HOME; give it one of its own.
export HOME=$work/home
mkdir -p "$HOME"
browse() {
  timeout 60 chromium --headless=new --no-sandbox --disable-gpu --no-first-run \
    --disable-extensions --enable-logging=stderr --v=0 "$@" "file://$work/run.html"
}
browse --dump-dom >dom.html 2>chromium.err || fail "chromium could not load the page: $(tail -5 chromium.err)"
if grep -E 'CONSOLE|Refused to|ERR_' chromium.err; then fail "the page logged an error in Chromium"; fi
[[ $(grep -o '<g class="lane"' dom.html | wc -l) -eq 2 ]] || fail "expected 2 probe lanes in the DOM"
[[ $(grep -o '<g class="fault-window"' dom.html | wc -l) -eq 1 ]] || fail "expected 1 fault window in the DOM"
grep -q 'data-fault="freeze-web" data-host="local"' dom.html || fail "the fault window is not labelled"
browse --screenshot="$out/reports-run.png" --window-size=1200,1000 >/dev/null 2>>chromium.err ||
  fail "chromium could not take a screenshot: $(tail -5 chromium.err)"
[[ -s $out/reports-run.png ]] || fail "no screenshot was written"
cp run.html run.xml run.md run.prom run.json "$out/"
echo "ok: journal, text, JUnit, Markdown, textfile and HTML checked; screenshot $out/reports-run.png"

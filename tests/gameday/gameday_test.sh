#!/usr/bin/env bash
# faultline gameday end to end, on this host: two short scenarios that pause a `sleep` this test
# starts (a command probe sees it stopped), run as a suite. Checked: the combined reports (JUnit
# against the XSD, two testsuites), stop_on, the history and its trend in the second run's
# report, a window that is closed (exit 6, and when it opens), --ignore-window, the lock of a
# suite that is running (exit 7, naming its holder), and an invalid suite (exit 2, file:line:col).
#   gameday_test.sh FAULTLINE SOURCE_DIR
set -uo pipefail
faultline=$1 source_dir=$2
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: local runs keep their undo under /run/faultline, and the lock under /run: run as root"
  exit 77
fi
command -v xmllint >/dev/null || { echo "SKIP: xmllint is not installed"; exit 77; }

work=$(mktemp -d /tmp/fl-gameday.XXXXXX)
sleeper="" background=""
cleanup() {
  [[ -n $background ]] && kill -INT "$background" 2>/dev/null && wait "$background" 2>/dev/null
  [[ -n $sleeper ]] && kill -CONT "$sleeper" 2>/dev/null && kill "$sleeper" 2>/dev/null && wait "$sleeper" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAILED: $*"; exit 1; }
cd "$work"

# The target: a sleep named by this test's folder, so no other process matches.
marker=fl-gameday-$(basename "$work")
bash -c "exec -a $marker sleep 600" &
sleeper=$!

scenario() {  # scenario NAME TOLERANCE_DURING
  cat > "$1.yaml" <<YAML
version: 1
title: $1
targets:
  sleeper: {processes: {cmdline: "^$marker"}}
blast_radius: {max_duration: 30s, max_processes: 1}
steady_state:
  - name: running
    command: {run: "! grep -q '^State:.*T' /proc/$sleeper/status"}
    expect: {exit_code: 0}
    interval: 200ms
    tolerance: {during: $2}
recovery: {within: 600ms}
phases: {before: 600ms, after: 600ms}
faults:
  - name: pause
    target: sleeper
    at: 0s
    duration: 800ms
    process_pause: {}
YAML
}
scenario tolerant 100%
scenario strict 0%
suite() {  # suite FILE STOP_ON FIRST SECOND [WINDOW...]
  cat > "$1" <<YAML
version: 1
title: gameday test
max_duration: 5m
stop_on: $2
scenarios:
  - file: $3.yaml
  - file: $4.yaml
YAML
}

# 1. Both run; the second deviates; stop_on never lets both run. Exit: deviated.
suite both.yaml never tolerant strict
"$faultline" gameday both.yaml --junit g.xml --html g.html --markdown g.md --metrics-textfile g.prom \
  --history hist --journal-dir journals >out1 2>err1
rc=$?
[[ $rc -eq 1 ]] || { cat out1 err1; fail "gameday exited $rc, expected 1 (the strict scenario deviates)"; }
xmllint --noout --schema "$source_dir/docs/schema/junit.xsd" g.xml || fail "g.xml is not valid JUnit"
[[ $(grep -c '<testsuite ' g.xml) -eq 2 ]] || fail "expected 2 testsuites: $(cat g.xml)"
grep -q '<testsuites name="gameday test" tests="10" failures="1"' g.xml || fail "wrong totals: $(head -3 g.xml)"
grep -q '^\*\*NOT HELD\*\* (exit 1): 1 of 2 scenarios held; every scenario ran\.$' g.md ||
  fail "g.md does not lead with the suite's verdict: $(head -5 g.md)"
grep -q 'faultline_run_exit_code{scenario="strict"} 1' g.prom || fail "g.prom: $(cat g.prom)"
[[ -f journals/01-tolerant.json && -f journals/02-strict.json ]] || fail "journals not kept: $(ls journals)"
[[ $(ls hist/tolerant | wc -l) -eq 1 && $(ls hist/strict | wc -l) -eq 1 ]] || fail "history: $(ls -R hist)"
"$source_dir/tests/support/check_journal.py" "$source_dir/docs/schema/journal.schema.json" journals/*.json
case $? in 0) ;; 77) echo "(journals not checked: python3-jsonschema is missing)" ;; *) fail "a journal does not match its schema" ;; esac

# 2. Again: the history has two runs of each, and the report says so.
"$faultline" gameday both.yaml --markdown g2.md --history hist >out2 2>err2
[[ $? -eq 1 ]] || { cat out2 err2; fail "the second run did not exit 1"; }
grep -q 'over the last 2 runs; verdicts: deviated x2' g2.md || fail "no trend in g2.md: $(cat g2.md)"
grep -q 'history: time to recover .* over the last 2 runs; verdicts: held x2' out2 ||
  fail "no trend in the summary: $(cat out2)"

# 3. stop_on: deviation stops after the strict scenario; the tolerant one is not run.
suite stops.yaml deviation strict tolerant
"$faultline" gameday stops.yaml --junit s.xml >out3 2>err3
[[ $? -eq 1 ]] || { cat out3 err3; fail "stop_on deviation: expected exit 1"; }
[[ $(grep -c '<testsuite ' s.xml) -eq 1 ]] || fail "the suite did not stop after the strict scenario"
grep -q "stopped after 'strict.yaml' (exit 1): stop_on is deviation; not run: tolerant.yaml (stopped after strict.yaml)" out3 ||
  fail "the summary does not say why it stopped: $(tail -3 out3)"

# 4. A window that is closed now (the day after tomorrow only): exit 6, nothing runs.
day=$(python3 -c 'import datetime; print(["mon","tue","wed","thu","fri","sat","sun"][(datetime.datetime.utcnow().weekday()+2)%7])')
suite closed.yaml deviation tolerant strict
printf 'window: {days: [%s], from: "00:00", to: "01:00", time_zone: UTC}\n' "$day" >> closed.yaml
"$faultline" gameday closed.yaml --junit c.xml >out4 2>err4
rc=$?
[[ $rc -eq 6 ]] || { cat out4 err4; fail "outside the window: exit $rc, expected 6"; }
grep -q "not started: outside its window ($day 00:00-01:00 UTC); opens next at .* UTC (in .*). --ignore-window runs it now" err4 ||
  fail "the message does not say when the window opens: $(cat err4)"
[[ ! -e c.xml ]] || fail "a report was written though nothing ran"
"$faultline" gameday closed.yaml --ignore-window --junit c.xml >out5 2>err5
[[ $? -eq 1 && -s c.xml ]] || { cat out5 err5; fail "--ignore-window did not run the suite"; }

# 5. One game day at a time: while one runs, a second is refused with its holder named.
"$faultline" gameday both.yaml >out6 2>err6 &
background=$!
for _ in $(seq 100); do grep -q 'scenario 1/2' err6 2>/dev/null && break; sleep 0.05; done
"$faultline" gameday both.yaml >out7 2>err7
rc=$?
[[ $rc -eq 7 ]] || { cat out7 err7; fail "a second game day: exit $rc, expected 7"; }
grep -q "another game day holds the lock .*pid $background" err7 || fail "the holder is not named: $(cat err7)"
wait "$background"
rc=$?
background=""
[[ $rc -eq 1 ]] || fail "the first game day exited $rc"

# 6. An invalid suite: every problem with its place, exit 2, nothing runs.
printf 'version: 1\ntitle: bad\nmax_duraton: 5m\nscenarios:\n  - file: nowhere.yaml\n' > bad.yaml
"$faultline" gameday bad.yaml >out8 2>err8
rc=$?
[[ $rc -eq 2 ]] || fail "an invalid suite: exit $rc, expected 2"
grep -q "^bad.yaml:3:1: error: .*max_duraton.*did you mean 'max_duration'" err8 || fail "no place for the typo: $(cat err8)"
grep -q "^bad.yaml:5:.*nowhere.yaml" err8 || fail "the missing scenario file is not named: $(cat err8)"
echo "ok: reports, history, stop_on, window, lock and errors of faultline gameday"

#!/usr/bin/env bash
# CTest: lintian finds no error and no warning in the .deb packages, except those overridden in
# packaging/lintian/ (each override there must follow a comment that gives its reason); and the
# control fields that matter are what packaging/CMakeLists.txt means them to be.
#   deb-lintian-test.sh DEB_DIR VERSION
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [[ $# -ne 2 || ! -d $1 ]]; then
  echo "deb-lintian-test: error: usage: deb-lintian-test.sh DEB_DIR VERSION (got: $*)"
  exit 2
fi
debs=$1 version=$2
[[ -f $debs/SKIPPED ]] && { echo "SKIPPED: $(cat "$debs/SKIPPED")"; exit 77; }
command -v lintian >/dev/null || { echo "SKIPPED: lintian is not installed (scripts/install-deps.sh)"; exit 77; }
cli=$debs/faultline_${version}-1_amd64.deb
agent=$debs/faultline-agent_${version}-1_amd64.deb
failures=0
fail() { echo "FAILED: $*"; failures=$((failures + 1)); }

# Every override has its reason: the line before it is a comment.
for overrides in "$here/../../packaging/lintian/"*; do
  awk -v file="$overrides" '
    /^[a-z0-9.+-]+: / && previous !~ /^#/ { print file ":" NR ": an override without a comment giving its reason"; bad = 1 }
    { previous = $0 }
    END { exit bad }' "$overrides" || fail "$overrides"
done

# Errors and warnings fail; info and pedantic hints are printed for whoever reads the log.
lintian --fail-on error,warning --display-info --pedantic "$cli" "$agent" 2>&1 |
  grep -v 'running with root privileges is not recommended'
[[ ${PIPESTATUS[0]} -eq 0 ]] && echo "ok: lintian: no error, no warning" ||
  fail "lintian found errors or warnings (the E: and W: lines above)"

field() { dpkg-deb --field "$1" "$2"; }
for deb in "$cli" "$agent"; do
  depends=$(field "$deb" Depends)
  # From dpkg-shlibdeps (libc6, always) and the libraries opened at run time.
  for needed in 'libc6 (>= ' 'libnftables1' 'libldns3' 'libcurl4' 'libstdc++6 (>= '; do
    [[ $depends == *"$needed"* ]] && echo "ok: ${deb##*/} depends on $needed..." ||
      fail "${deb##*/}: Depends '$depends' lacks '$needed'"
  done
done
[[ $(field "$agent" Depends) == *'libspdlog'* ]] && echo "ok: the agent's shared libraries are found" ||
  fail "faultline-agent: Depends lacks spdlog's library: dpkg-shlibdeps did not run"
control=$(mktemp -d)
trap 'rm -rf "$control"' EXIT
dpkg-deb --control "$agent" "$control"
[[ $(cat "$control/conffiles") == /etc/faultline/agent.yaml ]] &&
  echo "ok: /etc/faultline/agent.yaml is the agent's conffile" ||
  fail "faultline-agent conffiles: '$(cat "$control/conffiles")'"
for script in postinst prerm postrm; do
  [[ $(stat -c %a "$control/$script") == 755 ]] && echo "ok: $script, mode 755" ||
    fail "faultline-agent $script: mode $(stat -c %a "$control/$script" 2>&1)"
done
unit=$(dpkg-deb --fsys-tarfile "$agent" | tar -xO ./usr/lib/systemd/system/faultline-agent.service)
[[ $(grep '^ExecStart=' <<<"$unit") == "ExecStart=/usr/bin/faultline-agent --config /etc/faultline/agent.yaml" ]] &&
  echo "ok: the unit starts /usr/bin/faultline-agent with /etc/faultline/agent.yaml" ||
  fail "the unit's ExecStart: $(grep '^ExecStart=' <<<"$unit")"

if ((failures)); then echo "deb-lintian-test: $failures check(s) failed"; exit 1; fi
echo "deb-lintian-test: every check passed"

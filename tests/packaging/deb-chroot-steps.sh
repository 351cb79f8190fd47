#!/usr/bin/env bash
# deb-chroot-test.sh's steps, run as PID 1 of the PID and mount namespaces the test made for
# them (everything started or mounted here ends with them), in two stages:
#   deb-chroot-steps.sh prepare MOUNTPOINT TARBALL APT_ARCHIVES DEB_DIR VERSION
#     unpacks the pristine Debian 12 root onto a tmpfs at MOUNTPOINT/root, mounts its /proc, its
#     /dev/pts and the apt cache, lets apt fetch the packages' dependencies (Debian's archive is
#     the only network used), then goes on, as the same process, in a network namespace of its
#     own with only loopback:
#   deb-chroot-steps.sh check ROOT VERSION
#   - faultline installs with apt (no network), `faultline --version` says VERSION, and it makes
#     the agent's certificates, put where the agent's config names them;
#   - faultline-agent installs: its config is a conffile, its unit is enabled and started (by
#     the fake systemctl, as systemd would, from the unit's own ExecStart), `--check` passes,
#     and fails as documented without the TLS files;
#   - a process paused through the packaged agent (a real run of the installed faultline) is
#     resumed when the agent's package is removed: prerm stops it, it reverts on SIGTERM;
#   - purge removes the conffile, the unit's enablement and mask, and the agent's state;
#   - where systemd does not run, installing only enables the unit, and purge undoes that.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if [[ ${1:-} == prepare && $# -eq 6 ]]; then
  set -e
  mountpoint=$2 tarball=$3 archives=$4 debs=$5 version=$6
  root=$mountpoint/root
  mount -t tmpfs -o size=2g,mode=755 faultline-deb-chroot "$mountpoint"
  mkdir -m 755 "$root"
  tar -C "$root" -xf "$tarball"
  mount -t proc proc "$root/proc"
  # apt gives dpkg a terminal of its own for its log.
  mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts"
  mount --bind "$archives" "$root/var/cache/apt/archives"
  mkdir -p "$root/tmp/debs" "$root/run/systemd/system"
  cp "$debs/faultline_${version}-1_amd64.deb" "$debs/faultline-agent_${version}-1_amd64.deb" \
    "$root/tmp/debs/"
  # Where systemd's would be: apt runs dpkg with PATH=/usr/sbin:/usr/bin:/sbin:/bin.
  cp "$here/fake-systemctl.sh" "$root/usr/bin/systemctl"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  echo "--- the root unpacked (at ${SECONDS} s)"
  # The lists in the root may be older than the archive: then they are updated, and apt tries
  # again.
  fetch() {
    chroot "$root" apt-get -q -y -o APT::Sandbox::User=root install --download-only \
      "/tmp/debs/faultline_${version}-1_amd64.deb" "/tmp/debs/faultline-agent_${version}-1_amd64.deb"
  }
  if ! fetch > "$root/tmp/fetch.log" 2>&1; then
    chroot "$root" apt-get -q -o APT::Sandbox::User=root update >> "$root/tmp/fetch.log" 2>&1 &&
      fetch >> "$root/tmp/fetch.log" 2>&1 || {
      cat "$root/tmp/fetch.log"
      echo "deb-chroot-steps: error: apt in the Debian 12 root could not fetch the packages'" \
        "dependencies"
      exit 1
    }
  fi
  echo "--- dependencies fetched (at ${SECONDS} s)"
  exec unshare --net "$0" check "$root" "$version"
fi
if [[ ${1:-} != check || $# -ne 3 ]]; then
  echo "deb-chroot-steps: error: usage: deb-chroot-steps.sh prepare MOUNTPOINT TARBALL" \
    "APT_ARCHIVES DEB_DIR VERSION"
  exit 2
fi
root=$2 version=$3
failures=0
fail() { echo "FAILED: $*"; failures=$((failures + 1)); }
step() { echo "--- $* (at ${SECONDS} s)"; }
in_root() { chroot "$root" "$@"; }
# No network here: whatever apt has not in its cache, it cannot fetch.
apt_get() { in_root apt-get -q -y -o APT::Sandbox::User=root "$@"; }
# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
  if [[ $2 == "$3" ]]; then echo "ok: $1"; else fail "$1: expected '$2', got '$3'"; fi
}
# A process's state letter (R, S, T, ...), read from the /proc of this PID namespace.
state_of() { awk '{ sub(/.*\) /, ""); print substr($0, 1, 1) }' "$root/proc/$1/stat" 2>/dev/null; }

ip link set lo up
host=$(uname -n)
# Logs of the steps: in the root, which goes with the test.
logs=$root/var/log/steps
mkdir -p "$logs"

step "install faultline"
apt_get install "/tmp/debs/faultline_${version}-1_amd64.deb" > $logs/install-cli.log 2>&1 ||
  { cat $logs/install-cli.log; fail "apt-get install faultline"; }
expect_eq "faultline --version" "faultline $version" "$(in_root faultline --version)"
[[ -f $root/usr/share/man/man1/faultline.1.gz ]] && echo "ok: faultline(1) installed" ||
  fail "no /usr/share/man/man1/faultline.1.gz"
# As agent.yaml's comment says: certificates made where the controller runs, the agent's named
# as the controller's inventory names it (its host name, the agent's default `host`), and its
# three files copied to where the config looks for them.
in_root faultline certs --out /root/certs --agents "$host=127.0.0.1" > /dev/null ||
  fail "faultline certs --out /root/certs --agents $host=127.0.0.1"
mkdir -p "$root/etc/faultline/tls"
cp "$root/root/certs/ca.pem" "$root/etc/faultline/tls/ca.pem"
cp "$root/root/certs/$host.pem" "$root/etc/faultline/tls/agent.pem"
install -m 600 "$root/root/certs/$host.key" "$root/etc/faultline/tls/agent.key"

step "install faultline-agent: enabled, started"
apt_get install "/tmp/debs/faultline-agent_${version}-1_amd64.deb" > $logs/install-agent.log 2>&1 ||
  { cat $logs/install-agent.log; fail "apt-get install faultline-agent"; }
expect_eq "faultline-agent --version" "faultline-agent $version" \
  "$(in_root faultline-agent --version)"
expect_eq "the config is a conffile" "/etc/faultline/agent.yaml" \
  "$(in_root dpkg-query -W -f='${Conffiles}\n' faultline-agent | awk 'NF { print $1 }')"
expect_eq "the unit is enabled" "/usr/lib/systemd/system/faultline-agent.service" \
  "$(readlink "$root/etc/systemd/system/multi-user.target.wants/faultline-agent.service")"
systemctl_log=$root/var/log/fake-systemctl.log
grep -qx 'systemctl --system daemon-reload' "$systemctl_log" && echo "ok: postinst reloaded systemd" ||
  fail "postinst did not run systemctl --system daemon-reload"
expect_eq "postinst started the agent" "systemctl --quiet --system start faultline-agent.service" \
  "$(grep -E ' (start|restart|stop) ' "$systemctl_log")"
agent_log=$root/run/fake-systemd/faultline-agent.service.log
expect_eq "the agent is ready, with the installed config" \
  "host=$host listen=0.0.0.0:7443 tls=mutual scope=all state_file=/var/lib/faultline/agent-state.json metrics=off" \
  "$(sed -n 's/.*event=ready //p' "$agent_log")"
expect_eq "faultline-agent --check" \
  "/etc/faultline/agent.yaml: ok (host $host, listen 0.0.0.0:7443, mutual TLS)" \
  "$(in_root faultline-agent --check)"
# The config as installed, before the TLS files are there: exit 2, and where to put them.
mv "$root/etc/faultline/tls" "$root/etc/faultline/tls.aside"
check=$(in_root faultline-agent --check 2>&1)
expect_eq "--check without the TLS files exits" 2 $?
expect_eq "--check without the TLS files says" \
  "/etc/faultline/agent.yaml:15:7: error: tls.ca '/etc/faultline/tls/ca.pem' cannot be read: No such file or directory
/etc/faultline/agent.yaml:16:9: error: tls.cert '/etc/faultline/tls/agent.pem' cannot be read: No such file or directory
/etc/faultline/agent.yaml:17:8: error: tls.key '/etc/faultline/tls/agent.key' cannot be read: No such file or directory" \
  "$check"
mv "$root/etc/faultline/tls.aside" "$root/etc/faultline/tls"

step "a fault through the packaged agent, reverted when its package is removed"
bash -c 'exec -a fl-test-pkg-sleeper sleep 600' &
sleeper=$!
cat > "$root/tmp/inventory.yaml" <<EOF
tls: {ca: /root/certs/ca.pem, cert: /root/certs/controller.pem, key: /root/certs/controller.key}
agents:
  - {name: $host, address: "127.0.0.1:7443"}
EOF
cat > "$root/tmp/pause.yaml" <<EOF
version: 1
title: the packaged agent pauses a process, and resumes it when it is stopped
targets:
  sleeper:
    hosts: {names: [$host]}
    processes: {name: sleep, cmdline: "^fl-test-pkg-sleeper"}
blast_radius: {max_duration: 2m, max_processes: 1, max_hosts: 1}
faults:
  - {name: pause-sleeper, target: sleeper, at: 0s, duration: 60s, process_pause: {}}
EOF
in_root faultline run /tmp/pause.yaml --inventory /tmp/inventory.yaml > $logs/run.log 2>&1 &
run=$!
for _ in $(seq 100); do [[ $(state_of $sleeper) == T ]] && break; sleep 0.1; done
expect_eq "the run paused the process through the agent" T "$(state_of $sleeper)"
[[ $(state_of $sleeper) == T ]] || cat $logs/run.log "$agent_log"

apt_get remove faultline-agent > $logs/remove.log 2>&1 ||
  { cat $logs/remove.log; fail "apt-get remove faultline-agent"; }
expect_eq "prerm stopped the agent" "systemctl stop faultline-agent.service" \
  "$(grep -E ' (start|restart|stop) ' "$systemctl_log" | tail -n +2)"
expect_eq "the agent exited 0 (everything reverted)" 0 "$(cat "$root/run/fake-systemd/faultline-agent.service.status" 2>&1)"
expect_eq "its last line" "reverted_all=true" "$(tail -n 1 "$agent_log" | sed -n 's/.*event=stopped //p')"
expect_eq "the process runs again" S "$(state_of $sleeper)"
expect_eq "after remove, the unit is masked" /dev/null \
  "$(readlink "$root/etc/systemd/system/faultline-agent.service")"
[[ -f $root/etc/faultline/agent.yaml ]] && echo "ok: remove keeps the conffile" ||
  fail "remove deleted /etc/faultline/agent.yaml"
kill -TERM $run 2>/dev/null
wait $run 2>/dev/null

step "purge"
apt_get purge faultline-agent faultline > $logs/purge.log 2>&1 ||
  { cat $logs/purge.log; fail "apt-get purge faultline-agent faultline"; }
for gone in /etc/faultline/agent.yaml /etc/systemd/system/faultline-agent.service \
  /etc/systemd/system/multi-user.target.wants/faultline-agent.service \
  /var/lib/faultline/agent-state.json /usr/bin/faultline /usr/bin/faultline-agent; do
  [[ -e $root$gone || -L $root$gone ]] && fail "$gone is left after purge" || echo "ok: purge removed $gone"
done
kill -KILL $sleeper 2>/dev/null
wait $sleeper 2>/dev/null

step "install faultline-agent where systemd does not run (a chroot, an image build)"
rm -rf "$root/run/systemd" "$root/usr/bin/systemctl" "$root/var/log/fake-systemctl.log"
apt_get install "/tmp/debs/faultline-agent_${version}-1_amd64.deb" > $logs/install-no-systemd.log 2>&1 ||
  { cat $logs/install-no-systemd.log; fail "apt-get install faultline-agent without systemd"; }
# deb-systemd-helper makes the links itself; nothing is started.
[[ -f $root$(readlink "$root/etc/systemd/system/multi-user.target.wants/faultline-agent.service") ]] &&
  echo "ok: the unit is enabled" || fail "without systemd, the unit was not enabled"
# This PID namespace's processes are in the root's /proc (the host's /proc shows the host's).
[[ ! -e $root/var/log/fake-systemctl.log ]] &&
  ! grep -qx faultline-agent "$root"/proc/[0-9]*/comm 2> /dev/null &&
  echo "ok: nothing was started" || fail "without systemd, something was started"
apt_get purge faultline-agent > $logs/purge-no-systemd.log 2>&1 ||
  { cat $logs/purge-no-systemd.log; fail "apt-get purge faultline-agent without systemd"; }
[[ -e $root/etc/systemd/system/multi-user.target.wants/faultline-agent.service ]] &&
  fail "without systemd, purge left the unit enabled" || echo "ok: purge removed the unit's link"

step "done"
if ((failures)); then
  echo "deb-chroot-steps: $failures check(s) failed"
  exit 1
fi
echo "deb-chroot-steps: every check passed"

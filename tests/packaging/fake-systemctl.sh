#!/bin/sh
# systemctl's stand-in in deb-chroot-test.sh's Debian root, installed as /usr/bin/systemctl
# (and /run/systemd/system made) so that the packages' maintainer scripts believe systemd runs.
# It records every call in /var/log/fake-systemctl.log and does what systemd would do for the
# calls deb-systemd-helper and deb-systemd-invoke make: `preset` enables the unit as Debian's
# default preset policy does (a link in each of its WantedBy targets' .wants); `start` runs the
# unit's ExecStart in the background and waits for the agent's ready line; `stop` sends SIGTERM
# (the unit's KillSignal) and waits up to the unit's TimeoutStopSec (30 s) for it to exit; the
# exit status is kept in /run/fake-systemd/.
echo "systemctl $*" >> /var/log/fake-systemctl.log
action="" unit=""
for arg in "$@"; do
  case "$arg" in
    --system | --quiet | --root=/ | --preset-mode=enable-only | --) ;;
    *) if [ -z "$action" ]; then action=$arg; else unit=$arg; fi ;;
  esac
done
state=/run/fake-systemd
mkdir -p "$state"
running() { [ -f "$state/$unit.pid" ] && kill -0 "$(cat "$state/$unit.pid")" 2>/dev/null; }
unit_file() {
  for dir in /etc/systemd/system /usr/lib/systemd/system /lib/systemd/system; do
    [ -f "$dir/$unit" ] && echo "$dir/$unit" && return 0
  done
  echo "fake systemctl: no unit $unit" >&2
  return 1
}
case "$action" in
  daemon-reload) exit 0 ;;
  is-enabled)
    if [ -e "/etc/systemd/system/multi-user.target.wants/$unit" ]; then echo enabled; exit 0; fi
    echo disabled; exit 1 ;;
  is-active) running && exit 0; exit 3 ;;
  preset)
    file=$(unit_file) || exit 5
    for target in $(sed -n 's/^WantedBy=//p' "$file"); do
      mkdir -p "/etc/systemd/system/$target.wants"
      ln -sf "$file" "/etc/systemd/system/$target.wants/$unit"
    done ;;
  start | restart)
    if [ "$action" = restart ] && running; then "$0" stop "$unit" || exit 1; fi
    running && exit 0
    file=$(unit_file) || exit 5
    exec_start=$(sed -n 's/^ExecStart=//p' "$file")
    rm -f "$state/$unit.status"
    : > "$state/$unit.log"
    # A session of its own, as systemd gives a service: the terminal apt runs dpkg on hangs up
    # when apt ends, and must not reach the agent. The shell keeps the agent's exit status.
    setsid sh -c '"$@" >> "$0.log" 2>&1 &
      echo $! > "$0.pid"; wait $!; echo $? > "$0.status"' "$state/$unit" $exec_start \
      < /dev/null > /dev/null 2>&1 &
    for _ in $(seq 100); do
      grep -q 'event=ready' "$state/$unit.log" && exit 0
      [ -f "$state/$unit.status" ] && break
      sleep 0.1
    done
    echo "fake systemctl: $unit did not become ready" >&2
    exit 1 ;;
  stop)
    running || exit 0
    kill -TERM "$(cat "$state/$unit.pid")"
    for _ in $(seq 300); do
      [ -f "$state/$unit.status" ] && exit 0
      sleep 0.1
    done
    echo "fake systemctl: $unit did not stop within 30 s" >&2
    exit 1 ;;
  *) echo "fake systemctl: '$action' is not faked" >&2; exit 1 ;;
esac

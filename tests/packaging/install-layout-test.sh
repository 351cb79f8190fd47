#!/usr/bin/env bash
# CTest: `cmake --install` lays out exactly what the packages need (packaging/CMakeLists.txt),
# for a /usr install (the packages': config in /etc) and for the default /usr/local one (config
# in /usr/local/etc), with the unit's paths filled in for each; the man pages render without a
# warning, and faultline(1) has a section for every subcommand the program lists.
#   install-layout-test.sh SOURCE_DIR BUILD_DIR VERSION
set -uo pipefail
if [[ $# -ne 3 || ! -d $1 || ! -d $2 ]]; then
  echo "install-layout-test: error: usage: install-layout-test.sh SOURCE_DIR BUILD_DIR VERSION (got: $*)"
  exit 2
fi
source=$1 build=$2 version=$3
[[ -f $build/packaging/man/faultline.1.gz ]] ||
  { echo "SKIPPED: no man pages in this build (help2man was missing when it was configured, or it is a sanitizer or fuzz build)"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAILED: $*"; failures=$((failures + 1)); }
expect_eq() {
  if [[ $2 == "$3" ]]; then echo "ok: $1"; else fail "$1: expected '$2', got '$3'"; fi
}

# What a /usr install must hold: the docs and examples as the source tree has them today.
expected() {
  local prefix=$1 etc=$2
  printf '%s\n' "$prefix/bin/faultline" "$prefix/bin/faultline-agent" \
    "$etc/faultline/agent.yaml" "$prefix/lib/systemd/system/faultline-agent.service" \
    "$prefix/share/doc/faultline/README.md" "$prefix/share/doc/faultline/changelog.Debian.gz" \
    "$prefix/share/doc/faultline/copyright" "$prefix/share/doc/faultline-agent/agent.md" \
    "$prefix/share/doc/faultline-agent/changelog.Debian.gz" \
    "$prefix/share/doc/faultline-agent/copyright" \
    "$prefix/share/lintian/overrides/faultline" "$prefix/share/lintian/overrides/faultline-agent" \
    "$prefix/share/man/man1/faultline.1.gz" "$prefix/share/man/man8/faultline-agent.8.gz"
  (cd "$source/docs" && find . -type f | sed "s|^\.|$prefix/share/doc/faultline/docs|")
  (cd "$source/scenarios" && find . -maxdepth 1 -name '*.yaml' |
    sed "s|^\.|$prefix/share/doc/faultline/examples|")
}
installed() { (cd "$1" && find . -type f -o -type l | sed 's|^\.||'); }

DESTDIR=$work/usr-install cmake --install "$build" --prefix /usr > /dev/null ||
  fail "cmake --install --prefix /usr"
cmake --install "$build" --prefix "$work/local" > /dev/null || fail "cmake --install --prefix $work/local"

diff <(expected /usr /etc | sort) <(installed "$work/usr-install" | sort) > "$work/diff" &&
  echo "ok: a /usr install holds exactly what the packages need" ||
  { cat "$work/diff"; fail "a /usr install differs (< missing, > not expected)"; }
diff <(expected "$work/local" "$work/local/etc" | sed "s|^$work/local||" | sort) \
  <(installed "$work/local" | sort) > "$work/diff" &&
  echo "ok: an install under another prefix keeps its config under PREFIX/etc" ||
  { cat "$work/diff"; fail "an install under $work/local differs (< missing, > not expected)"; }

unit_lines() { grep -E '^(ExecStart|Documentation)=' "$1/lib/systemd/system/faultline-agent.service"; }
expect_eq "the unit of a /usr install" \
  "Documentation=man:faultline-agent(8) file:///usr/share/doc/faultline-agent/agent.md
ExecStart=/usr/bin/faultline-agent --config /etc/faultline/agent.yaml" \
  "$(unit_lines "$work/usr-install/usr")"
expect_eq "the unit of a $work/local install" \
  "Documentation=man:faultline-agent(8) file://$work/local/share/doc/faultline-agent/agent.md
ExecStart=$work/local/bin/faultline-agent --config $work/local/etc/faultline/agent.yaml" \
  "$(unit_lines "$work/local")"
expect_eq "the installed faultline --version" "faultline $version" \
  "$("$work/usr-install/usr/bin/faultline" --version)"
expect_eq "the installed faultline-agent --version" "faultline-agent $version" \
  "$("$work/usr-install/usr/bin/faultline-agent" --version)"

# The man pages: every subcommand of `faultline --help`, recursively, has its section.
man_dir=$work/usr-install/usr/share/man
subcommands() {
  "$work/usr-install/usr/bin/faultline" $1 --help |
    awk '/^Subcommands:/ { on = 1; next } on && /^$/ { on = 0 } on && /^  [^ ]/ { print $1 }'
}
walk() {
  local sub
  for sub in $(subcommands "$1"); do echo "faultline${1:+ $1} $sub"; walk "${1:+$1 }$sub"; done
}
walk "" > "$work/commands"
[[ $(wc -l < "$work/commands") -ge 10 ]] || fail "faultline --help lists only $(wc -l < "$work/commands") commands"
while read -r command; do
  zgrep -qx ".SS \"$command\"" "$man_dir/man1/faultline.1.gz" ||
    fail "faultline(1) has no section for '$command'"
done < "$work/commands"
echo "ok: faultline(1) has a section for each of the $(wc -l < "$work/commands") commands"
for option in '\-\-config' '\-\-check' '\-\-version'; do
  zgrep -qF "$option" "$man_dir/man8/faultline-agent.8.gz" ||
    fail "faultline-agent(8) does not describe $option"
done
if command -v man >/dev/null; then
  for page in "$man_dir/man1/faultline.1.gz" "$man_dir/man8/faultline-agent.8.gz"; do
    warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 > /dev/null)
    expect_eq "${page##*/} renders without warnings" "" "$warnings"
  done
else
  echo "note: man is not installed; the pages' rendering was not checked"
fi

if ((failures)); then echo "install-layout-test: $failures check(s) failed"; exit 1; fi
echo "install-layout-test: every check passed"

#!/bin/sh
# Makes a program's man page from its --help and --version with help2man, gzipped as Debian
# wants it. When the help lists subcommands (CLI11's "Subcommands:"), a COMMANDS section holds
# each one's help, subcommands of subcommands too, found by walking those lists: a subcommand
# added to the program is in its page at the next build, with nothing to write here.
#   make-man-page.sh HELP2MAN PROGRAM SECTION NAME INCLUDE OUTPUT.gz
# NAME is the page's one-line description; INCLUDE is a help2man include file of sections
# written by hand (FILES, SEE ALSO, ...).
set -eu
if [ $# -ne 6 ]; then
  echo "make-man-page.sh: error: usage: make-man-page.sh HELP2MAN PROGRAM SECTION NAME INCLUDE OUTPUT.gz" >&2
  exit 2
fi
help2man=$1 program=$2 section=$3 name=$4 include=$5 output=$6
name_of_program=$(basename "$program")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The names listed under "Subcommands:" in a help text, one a line.
subcommands_of() {
  awk '/^Subcommands:/ { on = 1; next } on && /^$/ { on = 0 } on && /^  [^ ]/ { print $1 }'
}

# help2man's page for `PROGRAM WORDS --help`, turned into a part of the COMMANDS section: the
# command line as a subsection, its synopsis, description and options as paragraphs and lists.
# Its last paragraph is dropped when it is the main page's (CLI11 repeats the footer).
command_part() {
  local words=$1
  "$help2man" --no-info --section "$section" --name "$name" \
    --help-option="$words --help" "$program" > "$work/sub.roff"
  awk -v title="$name_of_program $words" -v footer="$footer" '
    /^\.SH SYNOPSIS/ { line[n++] = sprintf(".SS \"%s\"", title); on = 1; next }
    !on { next }
    /^\.SH DESCRIPTION/ { line[n++] = ".PP"; next }
    /^\.SH OPTIONS/ { line[n++] = ".PP"; line[n++] = "Options:"; next }
    /^\.SS / { sub(/^\.SS "/, ""); sub(/"$/, ""); line[n++] = ".PP"; line[n++] = $0; next }
    { line[n++] = $0 }
    END {
      if (n >= 2 && line[n - 2] == ".PP" && line[n - 1] == footer) n -= 2
      for (i = 0; i < n; i++) print line[i]
    }' "$work/sub.roff"
  "$program" $words --help | subcommands_of | while read -r sub; do
    (command_part "$words $sub")
  done
}

"$help2man" --no-info --section "$section" --name "$name" "$program" \
  > "$work/main.roff"
# The main page's last line: its footer paragraph, if it has one.
footer=$(tail -n 1 "$work/main.roff")
set -- --include "$include"
subs=$("$program" --help | subcommands_of)
if [ -n "$subs" ]; then
  echo "[COMMANDS]" > "$work/commands.h2m"
  for sub in $subs; do command_part "$sub" >> "$work/commands.h2m"; done
  set -- "$@" --include "$work/commands.h2m"
fi
"$help2man" --no-info --section "$section" --name "$name" "$@" --output "$work/page" "$program"
gzip -9n -c "$work/page" > "$output.tmp"
mv "$output.tmp" "$output"

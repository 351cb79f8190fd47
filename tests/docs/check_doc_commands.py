#!/usr/bin/env python3
"""Every faultline command line in the docs is one the CLI accepts.

check_doc_commands.py FAULTLINE ROOT FILE_OR_FOLDER...
Reads the fenced code blocks of Markdown files and the whole of other files (YAML manifests,
workflow files, systemd units), joins lines continued with a backslash, and runs every
`faultline ...` command found with FAULTLINE_ARGS_ONLY=1: faultline parses the command line and
exits, doing nothing. A command it refuses is reported with its file and line."""
import os
import re
import shlex
import subprocess
import sys

faultline, root, files = sys.argv[1], sys.argv[2], sys.argv[3:]
# A command starts a line (after "- ", "run: ", "sudo ", "$ "), follows ExecStart= or a shell
# operator, or is the first word of a YAML list item's string.
START = re.compile(
    r"(?:^\s*(?:-\s+)?(?:run:\s*)?(?:sudo\s+)?(?:\$\s+)?|ExecStart=|(?:&&|\|\||;|\()\s*(?:sudo\s+)?)"
    r"(?:/usr/bin/|/usr/local/bin/|\./build/controller/)?faultline (?=\S)")
TAGS = {"sh", "bash", "shell", "console", "yaml", "ini", "systemd", "dockerfile"}
# A synopsis ("faultline run FILE [--seed N]", "lab down|status") is not a command line.
SYNOPSIS = re.compile(r"\[|\]|\||\.\.\.")
COMMENT = re.compile(r"(^|\s)#.*$")
SHELL_ENDS = {"|", "||", "&&", ";", ">", ">>", "2>", "2>&1", "&", ")"}


def logical_lines(text):
    """(line number, text) with backslash continuations joined."""
    number, pending = 0, None
    for i, line in enumerate(text.splitlines(), 1):
        if pending is None:
            number, pending = i, ""
        stripped = line.rstrip()
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        yield number, pending + line
        pending = None
    if pending:
        yield number, pending


def candidate_lines(path, text):
    if not path.endswith(".md"):
        yield from logical_lines(text)
        return
    # Only blocks of commands and configuration; untagged blocks are drawings and synopses.
    inside, tag, block, start = False, "", [], 0
    for i, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            if inside and tag in TAGS:
                for n, l in logical_lines("\n".join(block)):
                    yield start + n, l
            inside, tag, block, start = not inside, line.strip()[3:].strip(), [], i
            continue
        if inside:
            block.append(line)


def commands(line):
    line = COMMENT.sub("", line)
    for match in START.finditer(line):
        rest = line[match.end():]
        # A YAML flow list: command: ["faultline", "gameday", ...] is handled by its own test.
        try:
            words = shlex.split(rest, comments=True)
        except ValueError:
            words = rest.split()
        args = []
        for w in words:
            if w in SHELL_ENDS or w.startswith(">") or w.startswith("2>"):
                break
            args.append(w.rstrip('"\''))
        if not SYNOPSIS.search(" ".join(args)):
            yield args


# A folder stands for its Markdown files.
expanded = []
for path in files:
    full = os.path.join(root, path)
    if os.path.isdir(full):
        expanded += sorted(os.path.join(path, f) for f in os.listdir(full) if f.endswith(".md"))
    else:
        expanded.append(path)
files = expanded

checked, failures = 0, []
env = dict(os.environ, FAULTLINE_ARGS_ONLY="1")
for path in files:
    text = open(os.path.join(root, path)).read()
    for number, line in candidate_lines(path, text):
        for args in commands(line):
            if not args or args[0].startswith("-") and args[0] not in ("--version", "--help"):
                continue
            r = subprocess.run([faultline] + args, env=env, capture_output=True, text=True)
            checked += 1
            if r.returncode != 0:
                failures.append(f"{path}:{number}: faultline {' '.join(args)}\n    {r.stderr.strip()}")
for f in failures:
    print(f)
print(f"{checked} command lines checked, {len(failures)} refused")
sys.exit(1 if failures or checked == 0 else 0)

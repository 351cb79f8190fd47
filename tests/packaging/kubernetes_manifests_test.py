#!/usr/bin/env python3
"""CTest: deploy/kubernetes/ parses, renders (kubectl kustomize, offline, when kubectl is there),
and does what it says with the CLI as built:

- every container's command line is one its program accepts: options and subcommands are read
  from the program's own --help (faultline, faultline-agent), so a renamed flag fails here;
- the DaemonSet runs its init container's script and the agent's real `--check` on a copy of
  the pod's volumes (the ConfigMap's config, certificates made by `faultline certs`): the agent
  would start with that config, as the node's name, on the port its readiness probe checks;
- it shares the node's PID and network namespaces, adds exactly the capabilities the agent
  needs, each named in a comment, and nothing is `privileged: true`;
- the CronJob's game day finds every file it names in its volumes: the suite, its scenarios
  (checked with `faultline validate`), the inventory and the certificates it names, and writes
  its reports to the persistent volume.

Usage: kubernetes_manifests_test.py --manifests DIR --faultline BIN --agent BIN
Exit 0 when every check passes, 1 otherwise, 77 (skipped) without python3-yaml.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:
    print("SKIPPED: python3-yaml is not installed (scripts/install-deps.sh)")
    sys.exit(77)

# `faultline gameday` is written on another branch. Until the build has that subcommand, the
# CronJob's command line is checked against its synopsis as agreed with its author:
#   faultline gameday FILE [--inventory PATH] [--junit PATH] [--html PATH] [--markdown PATH]
#                          [--history DIR]
# Once the build has it, its own --help is used and this is not.
GAMEDAY_SYNOPSIS = {
    "positionals": ["FILE"],
    "options": {"--inventory": True, "--junit": True, "--html": True, "--markdown": True,
                "--history": True, "-h": False, "--help": False},
}
# What the agent needs, and why, is in the DaemonSet's comments; a change is a decision.
AGENT_CAPABILITIES = ["KILL", "NET_ADMIN", "SYS_PTRACE", "SYS_ADMIN"]

failures = []


def fail(message):
    failures.append(message)
    print("FAILED:", message)


def ok(message):
    print("ok:", message)


def expect_eq(what, expected, actual):
    if expected == actual:
        ok(what)
    else:
        fail(f"{what}: expected {expected!r}, got {actual!r}")


# --- the programs' own help -------------------------------------------------------------------

def help_text(binary, words):
    return subprocess.run([binary, *words, "--help"], capture_output=True, text=True,
                          check=False).stdout


def section(text, title):
    """The lines of a CLI11 help section ("Options:", "Subcommands:", "Positionals:")."""
    lines, inside = [], False
    for line in text.splitlines():
        if line == title:
            inside = True
        elif inside and (not line.strip() or not line.startswith(" ")):
            inside = False
        elif inside:
            lines.append(line)
    return lines


def cli_spec(binary, words):
    """Subcommands, options (name -> takes a value) and positionals of `binary WORDS`."""
    text = help_text(binary, words)
    subcommands = [line.split()[0] for line in section(text, "Subcommands:")
                   if re.match(r"^  \S", line)]
    options = {}
    for line in section(text, "Options:"):
        m = re.match(r"^  ((?:-\w,)?--[\w-]+|-\w)( [A-Z]\S*)?", line)
        if m:
            for name in m.group(1).split(","):
                options[name] = m.group(2) is not None
    positionals = [line.split()[0] for line in section(text, "Positionals:")
                   if re.match(r"^  \S", line)]
    return {"subcommands": subcommands, "options": options, "positionals": positionals}


def check_command_line(binary, argv, what):
    """argv (without the program) is a command line `binary` accepts: its subcommands, options
    and number of positionals, as its --help lists them. Returns the positionals and options."""
    words, rest = [], list(argv)
    spec = cli_spec(binary, words)
    while rest and rest[0] in spec["subcommands"]:
        words.append(rest.pop(0))
        spec = cli_spec(binary, words)
    if words == [] and rest and rest[0] == "gameday" and "gameday" not in spec["subcommands"]:
        print(f"note: {os.path.basename(binary)} has no gameday subcommand in this build; "
              "the CronJob is checked against the synopsis kept in this test")
        words, spec = [rest.pop(0)], GAMEDAY_SYNOPSIS
    positionals, options = [], {}
    while rest:
        arg = rest.pop(0)
        if arg.startswith("-"):
            if arg not in spec["options"]:
                fail(f"{what}: {os.path.basename(binary)} {' '.join(words)} has no option "
                     f"{arg} (its --help lists {', '.join(sorted(spec['options']))})")
                continue
            if spec["options"][arg]:
                if not rest:
                    fail(f"{what}: {arg} needs a value")
                    continue
                options[arg] = rest.pop(0)
            else:
                options[arg] = True
        else:
            positionals.append(arg)
    if len(positionals) != len(spec["positionals"]):
        fail(f"{what}: {len(positionals)} positional argument(s) {positionals}, but "
             f"{os.path.basename(binary)} {' '.join(words)} takes {spec['positionals']}")
    else:
        ok(f"{what}: `{os.path.basename(binary)} {' '.join(argv)}` matches its --help")
    return words, positionals, options


# --- the pods' volumes, made real in a temporary folder -----------------------------------------

class Volumes:
    """The volumes of a pod as folders: ConfigMaps and Secrets filled, emptyDirs empty. A path
    a container sees is mapped through its volumeMounts to the folder that holds it."""

    def __init__(self, root, pod_spec, config_maps, secrets):
        self.root = root
        self.kinds = {}
        for volume in pod_spec.get("volumes", []):
            name = volume["name"]
            folder = os.path.join(root, name)
            os.makedirs(folder)
            if "configMap" in volume:
                self.kinds[name] = "configMap"
                for key, value in config_maps[volume["configMap"]["name"]].items():
                    with open(os.path.join(folder, key), "w") as f:
                        f.write(value)
            elif "secret" in volume:
                self.kinds[name] = "secret"
                for key, source in secrets.get(volume["secret"]["secretName"], {}).items():
                    shutil.copy(source, os.path.join(folder, key))
            else:
                self.kinds[name] = next(k for k in volume if k != "name")

    def mounts(self, container):
        """(mountPath, host folder or file, volume name, read-only), longest paths first."""
        found = []
        for m in container.get("volumeMounts", []):
            target = os.path.join(self.root, m["name"], m.get("subPath", ""))
            found.append((m["mountPath"].rstrip("/"), target.rstrip("/"), m["name"],
                          m.get("readOnly", False)))
        return sorted(found, key=lambda m: -len(m[0]))

    def resolve(self, container, path):
        """Where `path`, as the container sees it, is here; None when no volume holds it."""
        for mount_path, target, _, _ in self.mounts(container):
            if path == mount_path or path.startswith(mount_path + "/"):
                return target + path[len(mount_path):]
        return None

    def mount_of(self, container, path):
        for mount in self.mounts(container):
            if path == mount[0] or path.startswith(mount[0] + "/"):
                return mount
        return None

    def rewrite(self, container, text):
        """`text` with every mount path of the container replaced by its folder here."""
        mounts = self.mounts(container)
        targets = {m[0]: m[1] for m in mounts}
        # One pass, longest path first, so that a folder put in never matches again.
        pattern = "|".join(re.escape(m[0]) for m in mounts)
        return re.sub(rf"(?<![\w/])({pattern})(?=[/\s\"']|$)",
                      lambda m: targets[m.group(1)], text)


# --- the checks -------------------------------------------------------------------------------

def check_daemonset(ds, config_maps, raw_text, faultline, agent, work):
    spec = ds["spec"]["template"]["spec"]
    expect_eq("the agent shares the node's PID namespace (hostPID)", True, spec.get("hostPID"))
    expect_eq("the agent shares the node's network (hostNetwork)", True, spec.get("hostNetwork"))
    containers = {c["name"]: c for c in spec["containers"]}
    init = {c["name"]: c for c in spec.get("initContainers", [])}
    for c in [*containers.values(), *init.values()]:
        if c.get("securityContext", {}).get("privileged"):
            fail(f"container {c['name']} is privileged: true")
    ok("no container is privileged: true")
    agent_container = containers["agent"]
    caps = agent_container["securityContext"]["capabilities"]
    expect_eq("the agent drops every capability", ["ALL"], caps.get("drop"))
    expect_eq("the agent adds exactly the capabilities it needs", AGENT_CAPABILITIES,
              caps.get("add"))
    for cap in caps.get("add", []):
        if not re.search(rf"^\s*# {cap}: \S", raw_text, re.M):
            fail(f"capability {cap} has no comment saying why ('# {cap}: ...')")
    ok("each capability added has a comment saying why")

    # Certificates as `faultline certs` makes them; the Secret holds ca.pem and the nodes' pairs.
    node = "node-a"
    certs = os.path.join(work, "certs")
    subprocess.run([faultline, "certs", "--out", certs, "--agents", f"{node}=10.0.0.11"],
                   check=True, capture_output=True)
    secret_name = next(v["secret"]["secretName"] for v in spec["volumes"] if "secret" in v)
    secrets = {secret_name: {f: os.path.join(certs, f)
                             for f in ("ca.pem", f"{node}.pem", f"{node}.key")}}
    volumes = Volumes(os.path.join(work, "agent-pod"), spec, config_maps, secrets)

    for c in init.values():
        command = c.get("command", []) + c.get("args", [])
        if command[:2] != ["/bin/sh", "-c"] or len(command) != 3:
            fail(f"init container {c['name']}: expected /bin/sh -c SCRIPT, got {command}")
            continue
        env = dict(os.environ)
        for e in c.get("env", []):
            if e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName":
                env[e["name"]] = node
        run = subprocess.run(["/bin/sh", "-c", volumes.rewrite(c, command[2])], env=env,
                             capture_output=True, text=True, check=False)
        expect_eq(f"init container {c['name']}'s script runs on the pod's volumes", "",
                  run.stderr + ("" if run.returncode == 0 else f"exit {run.returncode}"))

    command = agent_container.get("command", []) + agent_container.get("args", [])
    expect_eq("the agent container runs faultline-agent", "faultline-agent", command[0])
    _, _, options = check_command_line(agent, command[1:], "the agent container")
    config = volumes.resolve(agent_container, options.get("--config", "/etc/faultline/agent.yaml"))
    check = subprocess.run([agent, *volumes.rewrite(agent_container, " ".join(command[1:])).split(),
                            "--check"], capture_output=True, text=True, check=False)
    expect_eq("faultline-agent --check accepts the pod's config, with the node's name",
              f"{config}: ok (host {node}, listen 0.0.0.0:7443, mutual TLS)",
              (check.stdout + check.stderr).strip())

    if not config or not os.path.isfile(config):
        fail(f"the agent's config {options.get('--config')} is in none of its volumes")
        return
    with open(config) as f:
        listen_port = int(yaml.safe_load(f)["listen"].rsplit(":", 1)[1])
    ports = {p["name"]: p["containerPort"] for p in agent_container.get("ports", [])}
    probe = agent_container.get("readinessProbe", {}).get("tcpSocket", {}).get("port")
    expect_eq("the readiness probe checks the port the agent listens on", listen_port,
              ports.get(probe, probe))
    state = yaml.safe_load(open(config)).get("state_file", "/var/lib/faultline/agent-state.json")
    mount = volumes.mount_of(agent_container, state)
    expect_eq("the state file is on the node's disk (hostPath)", "hostPath",
              volumes.kinds.get(mount[2]) if mount else None)


def check_cronjob(cron, config_maps, faultline, work):
    spec = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    container = spec["containers"][0]
    command = container.get("command", []) + container.get("args", [])
    expect_eq("the CronJob runs faultline", "faultline", command[0])
    words, positionals, options = check_command_line(faultline, command[1:],
                                                     "the CronJob's container")
    expect_eq("the CronJob runs a game day", ["gameday"], words)
    # The controller's certificates, as `faultline certs` names them.
    secret_name = next(v["secret"]["secretName"] for v in spec["volumes"] if "secret" in v)
    certs = os.path.join(work, "controller-certs")
    subprocess.run([faultline, "certs", "--out", certs, "--agents", "node-1"], check=True,
                   capture_output=True)
    secrets = {secret_name: {f: os.path.join(certs, f)
                             for f in ("ca.pem", "controller.pem", "controller.key")}}
    volumes = Volumes(os.path.join(work, "gameday-pod"), spec, config_maps, secrets)

    def existing(path, what):
        here = volumes.resolve(container, path)
        if here is None or not os.path.isfile(here):
            fail(f"{what} {path} is in none of the CronJob's volumes")
            return None
        ok(f"{what} {path} is there")
        return here

    suite_file = existing(positionals[0], "the suite")
    if suite_file:
        suite = yaml.safe_load(open(suite_file))
        suite_dir = os.path.dirname(positionals[0])
        for item in suite.get("scenarios", []):
            scenario = existing(os.path.join(suite_dir, item["file"]), "the suite's scenario")
            if scenario:
                run = subprocess.run([faultline, "validate", scenario], capture_output=True,
                                     text=True, check=False)
                expect_eq(f"faultline validate {item['file']}", 0, run.returncode)
                if run.returncode:
                    print(run.stdout + run.stderr)
    inventory_file = existing(options.get("--inventory", ""), "the inventory")
    if inventory_file:
        for key, path in yaml.safe_load(open(inventory_file)).get("tls", {}).items():
            existing(path, f"the inventory's tls.{key}")
    for option in ("--junit", "--html", "--markdown", "--history"):
        if option not in options:
            continue
        mount = volumes.mount_of(container, options[option])
        expect_eq(f"{option} {options[option]} is written to the persistent volume",
                  ("persistentVolumeClaim", False),
                  (volumes.kinds.get(mount[2]), mount[3]) if mount else None)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--manifests", required=True)
    parser.add_argument("--faultline", required=True)
    parser.add_argument("--agent", required=True)
    args = parser.parse_args()

    files = sorted(f for f in os.listdir(args.manifests) if f.endswith(".yaml"))
    objects, raw = [], {}
    for name in files:
        with open(os.path.join(args.manifests, name)) as f:
            raw[name] = f.read()
        if name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(raw[name]):
            if not doc:
                continue
            for key in ("apiVersion", "kind", "metadata"):
                if key not in doc:
                    fail(f"{name}: an object without {key}")
            objects.append((name, doc))
    ok(f"{len(objects)} objects in {len(files) - 1} files parse")
    for name, doc in objects:
        if doc["kind"] != "Namespace" and doc["metadata"].get("namespace") != "faultline":
            fail(f"{name}: {doc['kind']} {doc['metadata']['name']} is not in namespace faultline")
    kustomization = yaml.safe_load(raw["kustomization.yaml"])
    expect_eq("kustomization.yaml lists every manifest", sorted(set(files) - {"kustomization.yaml"}),
              sorted(kustomization["resources"]))
    if shutil.which("kubectl"):
        rendered = subprocess.run(["kubectl", "kustomize", args.manifests], capture_output=True,
                                  text=True, check=False)
        if rendered.returncode:
            fail(f"kubectl kustomize: {rendered.stderr.strip()}")
        else:
            expect_eq("kubectl kustomize renders every object",
                      sorted((d["kind"], d["metadata"]["name"]) for _, d in objects),
                      sorted((d["kind"], d["metadata"]["name"])
                             for d in yaml.safe_load_all(rendered.stdout) if d))
    else:
        print("note: kubectl is not installed (kubernetes-client); the manifests were not rendered")

    by_kind = {}
    for name, doc in objects:
        by_kind.setdefault(doc["kind"], []).append((name, doc))
    config_maps = {d["metadata"]["name"]: d.get("data", {}) for _, d in by_kind["ConfigMap"]}
    with tempfile.TemporaryDirectory() as work:
        (ds_file, daemonset), = by_kind["DaemonSet"]
        check_daemonset(daemonset, config_maps, raw[ds_file], args.faultline, args.agent, work)
        (_, cronjob), = by_kind["CronJob"]
        check_cronjob(cronjob, config_maps, args.faultline, work)

    if failures:
        print(f"kubernetes_manifests_test: {len(failures)} check(s) failed")
        return 1
    print("kubernetes_manifests_test: every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

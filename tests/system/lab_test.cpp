// faultline lab: namespaces on a bridge with real pings between them, the files an operator
// needs, and `lab down` that finds everything by name, even after a crash. Every test ends with
// `lab down` (a guard), whichever way it ends. Only the lab's own 10.213.0.0/24 is touched.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/support/child_process.h"
#include "tests/support/lab_guard.h"
#include "tests/support/network_namespace.h"
#include "tls/certs.h"

namespace fs = std::filesystem;
using faultline::test::ChildProcess;
using faultline::test::CommandResult;
using faultline::test::run_command;

using faultline::test::LabGuard;
using faultline::test::lab_leftovers;

namespace {

bool pings(int from_host, const std::string& to) {
  return run_command({faultline::test::ip_binary(), "netns", "exec",
                      "fl-lab-" + std::to_string(from_host), "ping", "-c", "1", "-W", "2", to})
             .exit_code == 0;
}

std::string address(int host) {
  return "10.213.0." + std::to_string(10 + host);
}

}  // namespace

TEST_CASE("lab up --no-agents makes hosts that reach the bridge and each other", "[lab]") {
  LabGuard lab;
  const CommandResult up = lab.lab("up", {"--hosts", "3", "--no-agents"});
  INFO(up.out << up.err);
  REQUIRE(up.exit_code == 0);

  std::vector<std::string> made = lab_leftovers();
  std::sort(made.begin(), made.end());
  CHECK(made == std::vector<std::string>{"fl-lab-1", "fl-lab-1-h", "fl-lab-2", "fl-lab-2-h",
                                         "fl-lab-3", "fl-lab-3-h", "fl-lab0"});
  for (const char* link : {"fl-lab0", "fl-lab-1-h", "fl-lab-2-h", "fl-lab-3-h"})
    CHECK(fs::exists(std::string("/sys/class/net/") + link));
  CHECK(fs::exists("/sys/class/net/fl-lab-2-h/master"));  // enslaved to the bridge
  const CommandResult addr =
      run_command({faultline::test::ip_binary(), "-n", "fl-lab-2", "-4", "-o", "addr", "show"});
  CHECK(addr.out.find("eth0    inet 10.213.0.12/24") != std::string::npos);
  const CommandResult route =
      run_command({faultline::test::ip_binary(), "-n", "fl-lab-2", "route", "show", "default"});
  CHECK(route.out.starts_with("default via 10.213.0.1 dev eth0"));

  for (int from = 1; from <= 3; ++from) {
    CHECK(pings(from, "10.213.0.1"));
    for (int to = 1; to <= 3; ++to)
      if (to != from) CHECK(pings(from, address(to)));
  }

  // The files an operator and the agents need.
  for (const char* f : {"certs/ca.pem", "certs/ca.key", "certs/lab-1.pem", "certs/lab-3.key",
                        "certs/controller.pem", "certs/controller.key", "agents/lab-1.yaml",
                        "agents/lab-3.yaml", "inventory.yaml"})
    CHECK(fs::exists(lab.dir + "/" + f));
  const auto cert = faultline::tls::describe_certificate(
      *faultline::tls::read_pem_file(lab.dir + "/certs/lab-2.pem"));
  REQUIRE(cert);
  CHECK(cert->dns_names == std::vector<std::string>{"lab-2"});
  CHECK(cert->ip_addresses == std::vector<std::string>{"10.213.0.12"});

  const YAML::Node inventory = YAML::LoadFile(lab.dir + "/inventory.yaml");
  REQUIRE(inventory["agents"].size() == 3);
  CHECK(inventory["tls"]["ca"].as<std::string>() == lab.dir + "/certs/ca.pem");
  CHECK(inventory["tls"]["cert"].as<std::string>() == lab.dir + "/certs/controller.pem");
  CHECK(inventory["agents"][1]["name"].as<std::string>() == "lab-2");
  CHECK(inventory["agents"][1]["address"].as<std::string>() == "10.213.0.12:7443");
  CHECK(inventory["agents"][1]["labels"]["role"].as<std::string>() == "db");
  CHECK(inventory["agents"][0]["labels"]["role"].as<std::string>() == "app");
  CHECK(inventory["agents"][2]["labels"]["index"].as<std::string>() == "3");
  const YAML::Node agent = YAML::LoadFile(lab.dir + "/agents/lab-3.yaml");
  CHECK(agent["host"].as<std::string>() == "lab-3");
  CHECK(agent["listen"].as<std::string>() == "10.213.0.13:7443");
  CHECK(agent["tls"]["key"].as<std::string>() == lab.dir + "/certs/lab-3.key");
  CHECK(agent["tls"]["allowed_clients"][0].as<std::string>() == "controller");
  CHECK(agent["state_file"].as<std::string>() == lab.dir + "/state/lab-3.json");
  CHECK(agent["scope"]["netns"].as<std::string>() == "own");
  CHECK(agent["labels"]["lab"].as<std::string>() == "true");

  const CommandResult status = lab.lab("status");
  CHECK(status.exit_code == 0);
  CHECK(status.out.find("lab-2   fl-lab-2   10.213.0.12:7443   role db   agent not running") !=
        std::string::npos);

  const CommandResult again = lab.lab("up", {"--hosts", "1", "--no-agents"});
  CHECK(again.exit_code == 2);
  CHECK(again.err.starts_with("faultline lab up: error: a lab is already up (fl-lab0"));

  const CommandResult down = lab.lab("down");
  INFO(down.out << down.err);
  CHECK(down.exit_code == 0);
  CHECK(down.out ==
        "removed links: fl-lab-1-h, fl-lab-2-h, fl-lab-3-h, fl-lab0\n"
        "removed network namespaces: fl-lab-1, fl-lab-2, fl-lab-3\n");
  CHECK(lab_leftovers().empty());
  CHECK(fs::exists(lab.dir + "/certs/ca.pem"));  // kept: the next lab up reuses the CA

  const CommandResult none = lab.lab("down");
  CHECK(none.exit_code == 0);
  CHECK(none.out == "no lab to remove\n");
  CHECK(lab.lab("status").out == "no lab is up\n");
}

TEST_CASE("lab down after a crash: finds processes and links by name, without the directory",
          "[lab]") {
  LabGuard lab;
  const CommandResult up = lab.lab("up", {"--hosts", "2", "--no-agents"});
  INFO(up.out << up.err);
  REQUIRE(up.exit_code == 0);
  // A process left running inside a lab host, as an agent would be after `lab up` crashed.
  ChildProcess sleeper(faultline::test::ip_binary(), "fl-test-lab-sleeper",
                       {"netns", "exec", "fl-lab-2", "/bin/sleep", "1000"});
  // `ip netns exec` enters the namespace, then execs sleep in the same process.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::string comm;
  while (std::chrono::steady_clock::now() < until) {
    std::ifstream in("/proc/" + std::to_string(sleeper.pid()) + "/comm");
    std::getline(in, comm);
    if (comm == "sleep") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(comm == "sleep");
  CHECK(lab.lab("status").out.find("other processes: " + std::to_string(sleeper.pid()) +
                                   " (sleep, fl-lab-2)") != std::string::npos);
  fs::remove_all(lab.dir);  // the lab's files are lost too

  const CommandResult down = lab.lab("down");
  INFO(down.out << down.err);
  CHECK(down.exit_code == 0);
  CHECK(down.out.starts_with("stopped (SIGTERM): " + std::to_string(sleeper.pid()) +
                             " (sleep, fl-lab-2)\n"));
  CHECK(sleeper.wait_exit(1000));
  CHECK(lab_leftovers().empty());
}

TEST_CASE("lab up starts an agent per host, waits for its port, and lab down stops it", "[lab]") {
  LabGuard lab;
  if (access("/usr/bin/python3", X_OK) != 0) {
    std::printf("SKIPPED: the stand-in agent needs /usr/bin/python3\n");
    std::_Exit(77);
  }
  // A stand-in faultline-agent: listens where its config says, as the real one will.
  const std::string agent = lab.dir + "/bin/faultline-agent";
  fs::create_directories(lab.dir + "/bin");
  std::ofstream(agent) << R"(#!/usr/bin/python3
import socket, sys, time
config = open(sys.argv[sys.argv.index("--config") + 1]).read()
host, port = [l.split()[1] for l in config.splitlines() if l.startswith("listen:")][0].split(":")
if host.endswith(".12") and "--fail-two" in open(sys.argv[0] + ".mode").read():
    print("stand-in agent: refusing to start on", host, flush=True)
    sys.exit(3)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, int(port))); s.listen()
while True: s.accept()[0].close()
)";
  fs::permissions(agent, fs::perms::owner_all);
  std::ofstream(agent + ".mode") << "";

  const CommandResult up = lab.lab("up", {"--hosts", "2", "--agent-binary", agent});
  INFO(up.out << up.err);
  REQUIRE(up.exit_code == 0);
  CHECK(up.out.find("lab-2: agent pid ") != std::string::npos);
  CHECK(faultline::test::tcp_connect("10.213.0.11", 7443, 1000) ==
        faultline::test::ConnectOutcome::Connected);
  const CommandResult status = lab.lab("status");
  CHECK(status.out.find("role app  agent running (pid ") != std::string::npos);
  const CommandResult down = lab.lab("down");
  CHECK(down.exit_code == 0);
  CHECK(down.out.starts_with("stopped (SIGTERM): "));
  CHECK(lab_leftovers().empty());

  // An agent that exits: the error quotes its log, and nothing of the lab is left.
  std::ofstream(agent + ".mode") << "--fail-two";
  const CommandResult failed = lab.lab("up", {"--hosts", "2", "--agent-binary", agent});
  CHECK(failed.exit_code == 4);
  CHECK(failed.err ==
        "faultline lab up: error: the agent in fl-lab-2 exited with status 3 before listening "
        "on 10.213.0.12:7443; its log " +
            lab.dir + "/logs/lab-2.log:\n  | stand-in agent: refusing to start on 10.213.0.12\n");
  CHECK(lab_leftovers().empty());
}

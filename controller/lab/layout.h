#pragma once
// The lab's names and addresses, in one place: host i (1..60) is network namespace fl-lab-i,
// joined to the bridge fl-lab0 by the veth fl-lab-i-h (its eth0 inside), at 10.213.0.(10+i).
// `lab down` finds what to remove by these names alone, so it works without the lab's files.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace faultline::lab {

inline constexpr int kMaxHosts = 60;
inline constexpr const char* kBridge = "fl-lab0";
inline constexpr const char* kBridgeAddress = "10.213.0.1";
inline constexpr int kPrefixLength = 24;
inline constexpr const char* kLabInterface = "eth0";  // the veth's end inside each namespace
inline constexpr uint16_t kAgentPort = 7443;
inline constexpr const char* kControllerName = "controller";

std::string netns_name(int index);    // fl-lab-3
std::string host_name(int index);     // lab-3 (agent name, certificate name)
std::string host_veth(int index);     // fl-lab-3-h
std::string host_address(int index);  // 10.213.0.13
// Odd hosts are "app", even ones "db": two groups for scenarios to target, nothing more.
std::string host_role(int index);

// The index in a lab name, or nullopt for any other name: fl-lab-3 → 3, fl-lab-3-h → 3.
std::optional<int> index_of_netns(std::string_view name);
std::optional<int> index_of_veth(std::string_view name);

// Where `lab up` writes, under its directory.
struct LabPaths {
  std::string dir;  // absolute
  std::string certs() const { return dir + "/certs"; }
  std::string agent_config(int index) const;  // DIR/agents/lab-i.yaml
  std::string state_file(int index) const;    // DIR/state/lab-i.json
  std::string log_file(int index) const;      // DIR/logs/lab-i.log
  std::string pid_file(int index) const;      // DIR/run/lab-i.pid
  std::string inventory() const { return dir + "/inventory.yaml"; }
};

}  // namespace faultline::lab

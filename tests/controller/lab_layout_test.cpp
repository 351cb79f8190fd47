// The lab's names: `lab down` removes exactly what these functions recognise, nothing else.
#include <catch2/catch.hpp>

#include "controller/lab/layout.h"

using namespace faultline::lab;

TEST_CASE("lab names and addresses of host i", "[lab]") {
  CHECK(netns_name(7) == "fl-lab-7");
  CHECK(host_name(7) == "lab-7");
  CHECK(host_veth(60) == "fl-lab-60-h");
  CHECK(host_veth(60).size() <= 15);  // IFNAMSIZ - 1
  CHECK(host_address(1) == "10.213.0.11");
  CHECK(host_address(kMaxHosts) == "10.213.0.70");
  CHECK(host_role(1) == "app");
  CHECK(host_role(2) == "db");
  const LabPaths paths{"/var/lib/faultline/lab"};
  CHECK(paths.agent_config(3) == "/var/lib/faultline/lab/agents/lab-3.yaml");
  CHECK(paths.pid_file(3) == "/var/lib/faultline/lab/run/lab-3.pid");
}

TEST_CASE("only the lab's own names are recognised as the lab's", "[lab]") {
  CHECK(index_of_netns("fl-lab-12") == 12);
  CHECK(index_of_veth("fl-lab-12-h") == 12);
  for (const char* other : {"fl-lab0", "fl-lab-", "fl-lab-0", "fl-lab-01", "fl-lab-1x",
                            "fl-lab-12-h", "fl-test-a", "eth0", "fl-lab-1000"})
    CHECK_FALSE(index_of_netns(other));
  for (const char* other :
       {"fl-lab0", "fl-lab-h", "fl-lab--h", "fl-lab-1", "fl-lab-1-hh", "fl-lab-0-h", "xfl-lab-1-h"})
    CHECK_FALSE(index_of_veth(other));
}

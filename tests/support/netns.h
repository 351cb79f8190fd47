#pragma once
// Two network namespaces joined by a veth pair, made by a test and always removed: traffic in
// network tests only ever flows between them.
//   a: veth "fl-a" 10.200.0.1/24 fd00:200::1/64   <->   b: veth "fl-b" 10.200.0.2/24 fd00:200::2/64
// Made by TestNetwork (tests/support/network_namespace.h): ready for traffic when constructed,
// and a failed setup throws with the command that failed and what it printed.
#include <functional>
#include <optional>
#include <string>

#include "tests/support/network_namespace.h"

namespace faultline::test {

class NamespacePair {
 public:
  NamespacePair();  // skips the test (exit 77) when namespaces cannot be made here
  NamespacePair(const NamespacePair&) = delete;
  NamespacePair& operator=(const NamespacePair&) = delete;

  const std::string& a() const { return net_->a(); }
  const std::string& b() const { return net_->b(); }
  // Runs `body` on a thread that has entered namespace `ns` (the process stays where it is).
  void run_in(const std::string& ns, const std::function<void()>& body) const;
  // Runs a command inside a namespace (`ip netns exec`), returning its exit code and output.
  int exec(const std::string& ns, const std::string& command, std::string* out = nullptr) const;

 private:
  std::optional<TestNetwork> net_;
};

}  // namespace faultline::test

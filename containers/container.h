#pragma once
// A container as a runtime reports it: what a target group's `containers:` selects among. The
// runtime's own API is asked first; when none answers, the container is found by its cgroup path
// alone (containers/cgroup_scan.h), and then only its id and runtime are known.
#include <sys/types.h>

#include <map>
#include <string>

namespace faultline {

struct Container {
  std::string runtime;  // "docker", "podman", "containerd" or "cri-o"
  std::string id;       // the runtime's full id
  std::string name;     // docker and podman: without the leading '/'; containerd: the id
  std::string image;    // as the runtime names it; "" when unknown
  std::map<std::string, std::string> labels;
  std::string containerd_namespace;  // containerd only ("default", "k8s.io", ...)
  pid_t init_pid = 0;                // the container's first process; 0 when it is not running
  std::string found_by;              // "docker API at /run/docker.sock", "cgroup path", ...
};

}  // namespace faultline

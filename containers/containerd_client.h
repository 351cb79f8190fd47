#pragma once
// containerd's containers, as its own API lists them: gRPC over its unix socket.
#include <string>
#include <vector>

#include "containers/container.h"
#include "core/duration.h"
#include "core/result.h"

namespace faultline {

// Where containerd's API is: $CONTAINERD_ADDRESS when set (as `ctr` reads it; a "unix://"
// prefix is dropped), else /run/containerd/containerd.sock.
std::string containerd_socket_path();

// Every container of every containerd namespace (Namespaces.List, then Containers.List in each
// namespace), each with the pid of its task's process (Tasks.Get): the pid when the task is
// running or paused, 0 when the container has no task or its task is created, not yet started, or
// stopped. runtime "containerd", name = id, image, labels, containerd_namespace, found_by
// "containerd API at PATH".
//
// No socket at `socket_path` (containerd is not installed or not running): an empty list and no
// error, so the caller goes on to find containers by their cgroup paths. Anything else that fails
// is an error naming the socket and the call: "containerd API at PATH: connect failed: ...".
// `timeout` bounds the whole listing: every call carries the same deadline.
Result<std::vector<Container>> containerd_containers(const std::string& socket_path,
                                                     Duration timeout);

}  // namespace faultline

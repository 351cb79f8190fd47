#pragma once
// Docker's Engine API, which Podman serves too (its "compat" endpoints), over the runtime's unix
// socket with libcurl: the running containers with their names, images, labels and init pids.
// Two calls per container at most (list, then inspect for the pid), each with a deadline.
#include <optional>
#include <string>
#include <vector>

#include "containers/container.h"
#include "core/duration.h"
#include "core/result.h"

namespace faultline {

// Where a runtime's API socket is: DOCKER_HOST for docker and CONTAINER_HOST for podman when set
// (only unix:// URLs; their CLIs read the same variables), else the packaged default
// (/run/docker.sock, /run/podman/podman.sock).
std::string engine_socket_path(const std::string& runtime);

// The running containers `runtime` ("docker" or "podman") reports through the socket at `path`.
// nullopt when nothing listens there (the socket file is missing or refuses connections): the
// caller then looks for the runtime's containers by cgroup path. Any other failure (a timeout, an
// HTTP error, a reply that is not the API's) is an error naming the socket.
Result<std::optional<std::vector<Container>>> engine_containers(const std::string& runtime,
                                                                 const std::string& path,
                                                                 Duration timeout);

// The reply of GET /containers/json parsed into containers (pids not yet known); exposed for the
// unit tests and the fuzzer. An error names the JSON path of what is wrong.
Result<std::vector<Container>> parse_container_list(const std::string& runtime,
                                                    const std::string& body);

}  // namespace faultline

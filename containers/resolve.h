#pragma once
// From a ContainerSelector to the containers a fault acts on, on this host: each runtime asked is
// listed with what it answered (or why it could not), every matching container is pinned, and
// those protected (by the scenario or the agent's policy) or not running are set aside with the
// reason, for `plan` to show. The blast radius is enforced here, in the path of every fault.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "containers/container.h"
#include "core/result.h"
#include "injectors/container/container_scope.h"
#include "injectors/container/container_selector.h"
#include "injectors/process/targets.h"

namespace faultline {

struct RuntimeAnswer {
  std::string runtime;
  std::string source;  // "docker API at /run/docker.sock", "cgroup path"
  size_t containers = 0;
  std::string problem;  // why it could not be asked ("" when it answered)
};

struct ExcludedContainer {
  Container container;
  std::string reason;
};

struct ContainerResolution {
  std::vector<RuntimeAnswer> runtimes;
  std::vector<ContainerScope> matched;  // eligible: matched, running and not protected
  std::vector<ExcludedContainer> excluded;
};

// Whether `c` meets every criterion of `s` (its count aside).
bool container_matches(const ContainerSelector& s, const Container& c);

// Every container of the runtimes `runtime` names ("auto": docker, podman, containerd, then
// containers of any runtime found only by cgroup path).
std::vector<Container> list_containers(const std::string& runtime,
                                       std::vector<RuntimeAnswer>& answers);

Result<ContainerResolution> resolve_containers(const ContainerSelector& selector,
                                               const ContainerProtection& protection);

// The cgroups of the running containers on this host that `protection` protects, for faults aimed
// at the host's processes: those spare the protected containers' processes too. A container in
// the root cgroup (not told apart from the host) is left out.
std::vector<Protection::ContainerCgroup> protected_container_cgroups(
    const ContainerProtection& protection);

// Picks the selector's count of the eligible containers (at random with `rng`, then in id order)
// and refuses when nothing matches or when that is more than `max_containers` (0: no limit).
Result<std::vector<ContainerScope>> choose_containers(const ContainerResolution& resolution,
                                                      const ContainerSelector& selector,
                                                      int64_t max_containers,
                                                      std::mt19937_64& rng);

}  // namespace faultline

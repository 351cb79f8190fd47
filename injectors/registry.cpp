#include <algorithm>

#include "injectors/bandwidth/bandwidth.h"
#include "injectors/cpu_stress/cpu_stress.h"
#include "injectors/disk_fill/disk_fill.h"
#include "injectors/dns/dns.h"
#include "injectors/injector.h"
#include "injectors/memory_pressure/memory_pressure.h"
#include "injectors/io_stress/io_stress.h"
#include "injectors/io_throttle/io_throttle.h"
#include "injectors/network/network.h"
#include "injectors/network_partition/network_partition.h"
#include "injectors/process_kill/process_kill.h"
#include "injectors/process_pause/process_pause.h"

namespace faultline {
namespace {

// One line per fault kind.
const InjectorDescriptor kInjectors[] = {
    process_kill_descriptor(), process_pause_descriptor(),      cpu_stress_descriptor(),
    network_descriptor(),      bandwidth_descriptor(),          network_partition_descriptor(),
    dns_descriptor(),
    // Resource faults.
    memory_pressure_descriptor(),
    disk_fill_descriptor(),
    io_throttle_descriptor(),  io_stress_descriptor(),
};

}  // namespace

std::span<const InjectorDescriptor> all_injectors() {
  return kInjectors;
}

const InjectorDescriptor* find_injector(std::string_view kind) {
  for (const InjectorDescriptor& d : kInjectors)
    if (d.kind == kind) return &d;
  return nullptr;
}

std::vector<std::string_view> injector_kinds() {
  std::vector<std::string_view> kinds;
  for (const InjectorDescriptor& d : kInjectors) kinds.push_back(d.kind);
  return kinds;
}

Result<std::unique_ptr<Fault>> create_fault(FaultRequest request) {
  const InjectorDescriptor* d = find_injector(request.kind);
  if (d == nullptr)
    return fail("unknown fault kind '{}'; known kinds: {}", request.kind,
                fmt::join(injector_kinds(), ", "));
  if (d->duration == DurationRule::Required && !request.duration)
    return fail("{} needs a duration", d->kind);
  if (request.container && d->targets_processes) {
    // The container's processes are those in its cgroup and below: the selector, if any, then
    // picks among them. A container whose cgroup is the root cannot be told apart from the host.
    const std::string& cgroup = request.container->cgroup;
    if (request.selector.cgroup)
      return fail("{}: a process selector on a container cannot name a cgroup (the container's "
                  "own, {}, is used)", request.container->describe(), cgroup);
    if (cgroup.empty() || cgroup == "/")
      return fail("{}: its init process is in the root cgroup, so its processes cannot be told "
                  "apart from the host's", request.container->describe());
    request.selector.cgroup = cgroup;
  }
  if (d->targets_processes && request.selector.empty() && !request.containers)
    return fail("{} needs a process selector (name, cmdline, pidfile, parent_pidfile or cgroup)",
                d->kind);
  if (auto problems = d->cross_check(request.params, request.duration, request.selector);
      !problems.empty())
    return fail("{}", fmt::join(problems, "; "));
  const Support support = d->supported();
  if (!support.ok) return fail("{} cannot run on this host: {}", d->kind, support.reason);
  return d->create(std::move(request));
}

}  // namespace faultline

#include "injectors/network/fault_netns.h"

namespace faultline {

ParamSpec netns_param_spec() {
  return {.name = "netns",
          .type = ParamType::Text,
          .optional = true,
          .help =
              "act in this network namespace: a name under /run/netns or a path such as "
              "/proc/1234/ns/net (or give the fault a target: its process's namespace)"};
}

Result<NetnsHandle> fault_netns(const FaultRequest& request) {
  if (request.params.has("netns")) return NetnsHandle::open_path(request.params.text("netns"));
  // A container's namespace, through its pinned init process.
  if (request.container)
    return NetnsHandle::of_process(request.container->init_pid,
                                   request.container->init_start_ticks);
  if (request.selector.empty()) return NetnsHandle();
  const Resolution r = FL_TRY(resolve_processes(request.selector, request.protection));
  if (r.matched.empty())
    return fail("{} matches no running process whose network namespace could be used",
                request.selector.describe());
  return NetnsHandle::of_process(r.matched.front().pid, r.matched.front().start_ticks);
}

}  // namespace faultline

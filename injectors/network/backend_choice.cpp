#include "injectors/network/backend_choice.h"

#include "injectors/network/kernel_support.h"
#include "injectors/network/userspace/queue_rules.h"

namespace faultline {
namespace {

constexpr std::string_view kBackends[] = {"auto", "netem", "userspace"};

// netem scopes its qdisc with htb and u32 filters: all three must be there.
Result<void> netem_available() {
  for (const char* kind : {"htb", "netem"}) FL_TRY_VOID(qdisc_kind_available(kind));
  return {};
}

}  // namespace

std::string_view backend_name(NetworkBackend backend) {
  return backend == NetworkBackend::Netem ? "netem" : "userspace";
}

ParamSpec backend_param_spec() {
  return {.name = "backend",
          .type = ParamType::Choice,
          .default_value = "auto",
          .choices = kBackends,
          .help = "netem (in the kernel), userspace (NFQUEUE, for kernels without sch_netem) or "
                  "auto: netem where the kernel has it"};
}

Result<BackendChoice> choose_network_backend(const Params& params) {
  const std::string asked = params.has("backend") ? params.text("backend") : "auto";
  if (asked == "netem") {
    FL_TRY_VOID(netem_available());
    return BackendChoice{NetworkBackend::Netem, "asked for (backend: netem)"};
  }
  if (asked == "userspace") {
    if (auto usable = userspace_queue_available(); !usable)
      return fail("the userspace backend cannot run here: {}", usable.error().message);
    return BackendChoice{NetworkBackend::Userspace, "asked for (backend: userspace)"};
  }
  auto netem = netem_available();
  if (netem) return BackendChoice{NetworkBackend::Netem, "this kernel has netem (sch_netem)"};
  auto userspace = userspace_queue_available();
  if (userspace)
    return BackendChoice{NetworkBackend::Userspace,
                         "this kernel has no netem qdisc (sch_netem); packets are held in "
                         "userspace through NFQUEUE instead"};
  return fail("neither backend can run here. netem: {} userspace: {}", netem.error().message,
              userspace.error().message);
}

}  // namespace faultline

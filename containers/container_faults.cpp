#include "containers/container_faults.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "containers/resolve.h"

namespace faultline {
namespace {

class ContainerFaults final : public Fault {
 public:
  explicit ContainerFaults(FaultRequest request) : request_(std::move(request)) {}

  Result<void> prepare() override {
    if (!parts_.empty()) return {};
    const ContainerResolution resolution = FL_TRY(
        resolve_containers(*request_.containers, request_.container_protection));
    std::mt19937_64 rng(request_.seed);
    const std::vector<ContainerScope> chosen = FL_TRY(choose_containers(
        resolution, *request_.containers, request_.max_containers, rng));
    std::vector<Part> parts;
    for (const ContainerScope& scope : chosen) {
      FaultRequest one = request_;
      one.containers.reset();
      one.container = scope;
      auto fault = create_fault(std::move(one));
      if (!fault) return fail("{}: {}", scope.describe(), fault.error().message);
      if (auto prepared = (*fault)->prepare(); !prepared)
        return fail("{}: {}", scope.describe(), prepared.error().message);
      parts.push_back({scope, std::move(*fault)});
    }
    parts_ = std::move(parts);
    return {};
  }

  Result<void> apply(TimePoint scheduled) override {
    FL_TRY_VOID(prepare());
    // Every container is hit even when one fails; the caller reverts them all on an error.
    std::string errors;
    for (Part& p : parts_)
      if (auto applied = p.fault->apply(scheduled); !applied)
        errors += fmt::format("{}{}: {}", errors.empty() ? "" : "; ", p.scope.describe(),
                              applied.error().message);
    if (!errors.empty()) return fail("{}", errors);
    return {};
  }

  Result<void> revert() override {
    std::string errors;
    for (Part& p : parts_)
      if (auto reverted = p.fault->revert(); !reverted)
        errors += fmt::format("{}{}: {}", errors.empty() ? "" : "; ", p.scope.describe(),
                              reverted.error().message);
    if (!errors.empty()) return fail("{}", errors);
    return {};
  }

  nlohmann::json undo_plan() const override {
    nlohmann::json plan = nlohmann::json::array();
    for (const Part& p : parts_)
      for (const nlohmann::json& step : p.fault->undo_plan()) plan.push_back(step);
    return plan;
  }

  nlohmann::json observed() const override {
    nlohmann::json list = nlohmann::json::array();
    for (const Part& p : parts_) {
      nlohmann::json one = p.scope.to_json();
      one["observed"] = p.fault->observed();
      one["confirmed"] = p.fault->confirmed();
      list.push_back(std::move(one));
    }
    return {{"containers", std::move(list)}};
  }

  std::string summary() const override {
    std::string out;
    for (const Part& p : parts_)
      out += fmt::format("{}{}: {}", out.empty() ? "" : "; ", p.scope.describe(),
                         p.fault->summary());
    return out.empty() ? "no container was chosen" : out;
  }

  bool confirmed() const override {
    if (parts_.empty()) return false;
    for (const Part& p : parts_)
      if (!p.fault->confirmed()) return false;
    return true;
  }

 private:
  struct Part {
    ContainerScope scope;
    std::unique_ptr<Fault> fault;
  };
  FaultRequest request_;
  std::vector<Part> parts_;
};

}  // namespace

Result<std::unique_ptr<Fault>> create_container_faults(FaultRequest request) {
  if (!request.containers) return fail("create_container_faults needs a container selector");
  // The kind, its duration rule and its cross checks, before any container is looked at.
  // (With `containers` still set, an empty process selector means every process of each one.)
  FL_TRY(create_fault(request));
  return std::unique_ptr<Fault>(std::make_unique<ContainerFaults>(std::move(request)));
}

}  // namespace faultline

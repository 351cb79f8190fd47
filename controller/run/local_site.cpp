#include "controller/run/local_site.h"

#include <fmt/format.h>

namespace faultline {
namespace {

// Targets are found this long before a fault's start, so the fault itself fires on time.
constexpr Duration kPrepareAhead = std::chrono::milliseconds(50);
// A fault's deadline is its scheduled end plus this; the agent reverts it then on its own.
constexpr Duration kDeadlineGrace = std::chrono::seconds(5);

}  // namespace

LocalSite::LocalSite(std::string owner, const BlastRadius& blast_radius, TimePoint run_start,
                     UndoKeeper* keeper, RunLog log)
    : owner_(std::move(owner)),
      blast_radius_(blast_radius),
      run_start_(run_start),
      log_(std::move(log)),
      agent_(keeper) {}

std::vector<std::string> LocalSite::hosts(const RunFault&) const { return {"local"}; }

SiteApply LocalSite::apply(const RunFault& fault, const RunWait& wait) {
  const FaultSpec& f = *fault.spec;
  if (!wait(fault.scheduled - kPrepareAhead)) return {.stopped = true};
  FaultRequest request;
  request.id = f.name;
  request.kind = f.kind;
  request.params = f.params;
  request.selector = fault.selector;
  request.containers = fault.containers;
  request.container_protection = blast_radius_.container_protection;
  request.max_containers = blast_radius_.max_containers;
  request.duration = f.duration;
  request.seed = fault.seed;
  request.max_processes = blast_radius_.max_processes;
  request.protection = blast_radius_.protection;
  request.resource_bounds = blast_radius_.resources;
  const auto failed = [&](const std::string& message) {
    return SiteApply{.errors = {message},
                     .run_error = fmt::format("fault '{}' could not be injected: {}", f.name,
                                              message)};
  };
  auto prepared = agent_.prepare(std::move(request), owner_, fault.end + kDeadlineGrace);
  if (!prepared) return failed(prepared.error().message);
  if (!wait(fault.scheduled)) return {.stopped = true};
  auto applied = agent_.apply(f.name, fault.scheduled);
  if (!applied) return failed(applied.error().message);
  log_(fmt::format("applied {} ({}{})", f.name, f.kind,
                   f.duration ? " for " + format_duration(*f.duration) : ""));
  return {.errors = {std::nullopt}};
}

void LocalSite::revert(const RunFault& fault) {
  const std::string& name = fault.spec->name;
  auto reverted = agent_.revert(name);
  if (agent_.state(name))
    log_(fmt::format("reverted {}{}", name,
                     reverted ? "" : ": REVERT FAILED: " + reverted.error().message));
}

void LocalSite::revert_all() {
  for (const Error& e : agent_.revert_all(owner_)) log_(fmt::format("REVERT FAILED: {}", e.message));
}

void LocalSite::tick(TimePoint now) {
  for (const Error& e : agent_.expire(now))
    log_(fmt::format("REVERT FAILED at deadline: {}", e.message));
}

size_t LocalSite::active_count() const { return agent_.active_count(); }

void LocalSite::update(const RunFault& fault, size_t, FaultRecord& r) const {
  auto st = agent_.state(fault.spec->name);
  if (!st) return;
  if (st->applied_at) r.applied_at = *st->applied_at - run_start_;
  if (st->reverted_at) r.reverted_at = *st->reverted_at - run_start_;
  r.reverted_by_deadline = st->reverted_by_deadline;
  if (!st->apply_error.empty()) r.apply_error = st->apply_error;
  r.revert_error = st->revert_error;
  r.observed = st->observed;
  r.summary = st->summary;
  r.confirmed = st->confirmed;
}

}  // namespace faultline

#include "injectors/resource/resource_bounds.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/byte_size.h"

namespace faultline {
namespace {

std::optional<int64_t> bound_bytes(const MemoryBound& b) {
  if (b.bytes) return b.bytes;
  if (!b.percent) return std::nullopt;
  const auto total = host_memory_total();
  if (!total) return std::nullopt;
  return static_cast<int64_t>(static_cast<__int128>(*total) * b.percent->basis_points / 10000);
}

Result<void> check_one(int64_t bytes, const std::optional<MemoryBound>& bound,
                       std::string_view source) {
  if (!bound) return {};
  const auto limit = bound_bytes(*bound);
  if (!limit) return fail("{} {} cannot be checked: /proc/meminfo has no MemTotal", source,
                          bound->text());
  if (bytes <= *limit) return {};
  return fail("would hold {} of memory, more than {} {}{}; ask for less or raise it", human_bytes(static_cast<double>(bytes)),
              source, bound->text(),
              bound->percent ? fmt::format(" ({} of this host's memory)", human_bytes(static_cast<double>(*limit))) : "");
}

}  // namespace

std::string MemoryBound::text() const {
  if (bytes) return format_byte_size(ByteSize{*bytes});
  return percent ? format_percent(*percent) : "none";
}

std::optional<int64_t> host_memory_total() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  int64_t kib = 0;
  while (in >> key >> kib) {
    std::getline(in, unit);
    if (key == "MemTotal:") return kib * 1024;
  }
  return std::nullopt;
}

Result<void> check_memory_bound(int64_t bytes, const ResourceBounds& bounds) {
  FL_TRY_VOID(check_one(bytes, bounds.max_memory, "blast_radius.max_memory"));
  return check_one(bytes, bounds.agent_max_memory, "the agent's policy.max_memory");
}

Result<void> check_path_bound(const std::string& path, const ResourceBounds& bounds) {
  struct stat target {};
  if (::stat(path.c_str(), &target) != 0)
    return fail("cannot use {}: {}", path, std::strerror(errno));
  for (const ProtectedPath& p : bounds.protected_paths) {
    struct stat guarded {};
    if (::stat(p.path.c_str(), &guarded) != 0) continue;
    if (guarded.st_dev == target.st_dev)
      return fail("{} is on the same filesystem as {}, which {} protects; choose a path on "
                  "another filesystem or remove it from {}",
                  path, p.path, p.source, p.source);
  }
  return {};
}

}  // namespace faultline

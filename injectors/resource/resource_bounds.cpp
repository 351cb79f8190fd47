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
  const auto memory = read_meminfo();
  if (!memory) return std::nullopt;
  return static_cast<int64_t>(static_cast<__int128>(memory->total) * b.percent->basis_points /
                              10000);
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

Result<MemoryBound> parse_memory_bound(std::string_view text) {
  MemoryBound out;
  if (text.ends_with('%')) {
    auto p = parse_percent(text);
    if (!p) return std::unexpected(p.error());
    if (p->basis_points < 1 || p->basis_points > 10000)
      return fail("a share of the host's memory must be between 0.01% and 100% (got {})",
                  format_percent(*p));
    out.percent = *p;
    return out;
  }
  auto b = parse_byte_size(text);
  if (!b) return fail("{}; or a share of the host's memory such as 50%", b.error().message);
  if (b->bytes <= 0) return fail("must be above 0 (got {})", text);
  out.bytes = b->bytes;
  return out;
}

Result<void> check_protected_path_text(std::string_view path) {
  const auto bad = [&] {
    return fail("'{}' is not an absolute path without '.' or '..' parts; write e.g. /var/lib/postgresql",
                path);
  };
  if (!path.starts_with('/') || path.size() > 4096 || path.find('\0') != std::string_view::npos)
    return bad();
  for (size_t start = 1; start <= path.size();) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view part = path.substr(start, end - start);
    if (part == "." || part == "..") return bad();
    start = end + 1;
  }
  return {};
}

std::string MemoryBound::text() const {
  if (bytes) return format_byte_size(ByteSize{*bytes});
  return percent ? format_percent(*percent) : "none";
}

std::optional<MemInfo> read_meminfo() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  int64_t kib = 0;
  std::optional<int64_t> total, available;
  while (in >> key >> kib && !(total && available)) {
    std::getline(in, unit);
    if (key == "MemTotal:") total = kib * 1024;
    if (key == "MemAvailable:") available = kib * 1024;
  }
  if (!total || !available) return std::nullopt;
  return MemInfo{*total, *available};
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

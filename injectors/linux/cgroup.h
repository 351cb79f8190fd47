#pragma once
// cgroup v2: where it is mounted, and a cgroup that faultline creates and removes.
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/duration.h"
#include "core/result.h"

namespace faultline {

// The cgroup v2 mount point ("/sys/fs/cgroup" or, on hybrid systems, "/sys/fs/cgroup/unified").
std::optional<std::string> cgroup2_mount();

// Every cgroup hierarchy's mount point: the v2 mount first, then each v1 hierarchy (cpu,
// cpuacct, freezer, name=systemd, ...) in mount order, each hierarchy once even when it is
// mounted at several places.
std::vector<std::string> cgroup_mounts();

// The directory of a cgroup v2 path such as "/system.slice/x.service".
Result<std::string> cgroup2_directory(const std::string& cgroup_path);

// Writes `value` to a cgroup control file.
Result<void> write_cgroup_file(const std::string& path, const std::string& value);

// A cgroup created by faultline beside its own; removed on destruction after killing what is
// left in it. Its name starts with "faultline-" and holds the creating pid, so leftovers of a
// crashed run can be recognised and removed.
class OwnedCgroup {
 public:
  static Result<OwnedCgroup> create(const std::string& purpose);
  // Where create() would put the next cgroup for `purpose`; the name is reserved for the
  // caller, so an undo plan can name the cgroup before it exists.
  static Result<std::string> reserve_path(const std::string& purpose);
  // The same below the cgroup directory `parent` (of any hierarchy, v1 or v2).
  static std::string reserve_path_under(const std::string& parent, const std::string& purpose);
  // Creates the cgroup at a path from reserve_path().
  static Result<OwnedCgroup> create_at(std::string path);
  OwnedCgroup(OwnedCgroup&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  OwnedCgroup& operator=(OwnedCgroup&&) = delete;
  ~OwnedCgroup();

  const std::string& path() const { return path_; }
  Result<void> add(pid_t pid) const;
  // Kills every process in it (cgroup.kill) and removes the directory; idempotent.
  Result<void> destroy();

 private:
  explicit OwnedCgroup(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// The directory of the v1 hierarchy that holds the cpu controller ("/sys/fs/cgroup/cpu,cpuacct");
// nullopt on a pure cgroup v2 host.
std::optional<std::string> cgroup1_cpu_mount();

// Removes empty faultline cgroups whose creating process no longer exists.
void remove_stale_cgroups();

// The creating pid when `name` (a directory name, not a path) is one of faultline's own cgroups
// ("faultline-PID-PURPOSE-N"); nullopt for any other name.
std::optional<pid_t> faultline_cgroup_creator(std::string_view name);

// Kills every process in the cgroup at `dir` and removes it, waiting up to a second for the
// killed processes to go. A cgroup that is already gone is success. Where there is no
// cgroup.kill (a v1 hierarchy, or a kernel before 5.14), each process listed in cgroup.procs is
// killed through a pidfd, and a v1 freezer cgroup is thawed first so that the kill lands.
Result<void> kill_and_remove_cgroup(const std::string& dir);

}  // namespace faultline

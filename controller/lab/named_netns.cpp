// Done here rather than by running `ip netns add`: it is a few system calls, and the lab then
// needs no iproute2. The steps are iproute2's own (ip/ipnetns.c): /run/netns made a shared
// mount (so the names propagate into other mount namespaces), an empty file per name, and a
// new network namespace bind-mounted onto it from a thread that unshared it.
#include "controller/lab/named_netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace faultline::lab {
namespace {

Result<void> prepare_netns_dir() {
  if (mkdir(kNetnsDir, 0755) != 0 && errno != EEXIST)
    return fail("cannot create {}: {}", kNetnsDir, std::strerror(errno));
  bool bound = false;
  while (mount("", kNetnsDir, "none", MS_SHARED | MS_REC, nullptr) != 0) {
    // Not a mount point yet: make it one by binding it onto itself, once.
    if (errno != EINVAL || bound)
      return fail("cannot make {} a shared mount: {}", kNetnsDir, std::strerror(errno));
    if (mount(kNetnsDir, kNetnsDir, "none", MS_BIND | MS_REC, nullptr) != 0)
      return fail("cannot bind-mount {}: {}", kNetnsDir, std::strerror(errno));
    bound = true;
  }
  return {};
}

}  // namespace

Result<void> create_named_netns(const std::string& name) {
  FL_TRY_VOID(prepare_netns_dir());
  const std::string path = std::string(kNetnsDir) + "/" + name;
  const int fd = open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0)
    return fail("cannot create network namespace {}: {}: {}", name, path, std::strerror(errno));
  close(fd);
  Result<void> result;
  // unshare moves only this thread into the new namespace; it ends when the thread does, but the
  // namespace lives on through the bind mount.
  std::thread([&] {
    if (unshare(CLONE_NEWNET) != 0)
      result = fail("cannot create network namespace {}: unshare: {}", name, std::strerror(errno));
    else if (mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) != 0)
      result = fail("cannot create network namespace {}: bind mount onto {}: {}", name, path,
                    std::strerror(errno));
  }).join();
  if (!result) unlink(path.c_str());
  return result;
}

Result<bool> delete_named_netns(const std::string& name) {
  const std::string path = std::string(kNetnsDir) + "/" + name;
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return false;
  // EINVAL: not mounted (a half-made name); the file is removed all the same.
  if (umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL)
    return fail("cannot unmount {}: {}", path, std::strerror(errno));
  if (unlink(path.c_str()) != 0 && errno != ENOENT)
    return fail("cannot remove {}: {}", path, std::strerror(errno));
  return true;
}

std::vector<std::string> named_netns_list() {
  std::vector<std::string> names;
  DIR* dir = opendir(kNetnsDir);
  if (dir == nullptr) return names;
  while (const dirent* entry = readdir(dir))
    if (entry->d_name[0] != '.') names.push_back(entry->d_name);
  closedir(dir);
  return names;
}

}  // namespace faultline::lab

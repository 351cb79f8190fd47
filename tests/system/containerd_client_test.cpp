// containerd_containers() against a private containerd that the test starts (its own root, state
// and socket under a temp dir; CRI off), with one running and one created container made from a
// busybox-static image built here; and against sockets that are not containerd's.
#include "containers/containerd_client.h"

#include <fmt/format.h>
#include <openssl/sha.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/defer.h"
#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using faultline::Container;
using faultline::containerd_containers;
using faultline::containerd_socket_path;
using namespace faultline::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* kNamespace = "fltest";
constexpr const char* kImage = "docker.io/fltest/busybox:1";
const std::vector<std::string> kContainerIds = {"fl-web", "fl-idle"};

std::optional<std::string> find_tool(const std::string& name) {
  std::istringstream path(std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin");
  for (std::string dir; std::getline(path, dir, ':');)
    if (!dir.empty() && access((dir + "/" + name).c_str(), X_OK) == 0) return dir + "/" + name;
  return std::nullopt;
}

[[noreturn]] void skip(const std::string& why) {
  std::printf("SKIPPED: %s\n", why.c_str());
  std::fflush(stdout);
  std::_Exit(77);
}

std::string sha256_hex(const std::string& bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  std::string hex;
  for (unsigned char b : digest) hex += fmt::format("{:02x}", b);
  return hex;
}

std::string render(const std::map<std::string, std::string>& labels) {
  std::string text;
  for (const auto& [key, value] : labels) text += fmt::format("{}={} ", key, value);
  return text;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A unix socket listening at `path` that never accepts: a client's connection completes in the
// backlog and then hears nothing, as from a hung daemon.
class SilentSocket {
 public:
  explicit SilentSocket(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(fd_, 16) != 0)
      throw std::runtime_error("cannot listen at " + path);
  }
  ~SilentSocket() { close(fd_); }
  SilentSocket(const SilentSocket&) = delete;
  SilentSocket& operator=(const SilentSocket&) = delete;

 private:
  int fd_ = -1;
};

// A containerd of the test's own: root, state, sockets and config under a temp dir, the CRI
// plugin off. Everything it and ctr make is removed when this goes away, whichever way the test
// ends: tasks, containers, image, snapshots, mounts, the daemon, its shims, the cgroups ctr's
// containers got (/sys/fs/cgroup/*/fltest/<id>) and the temp dir.
class PrivateContainerd {
 public:
  PrivateContainerd(const std::string& containerd, const std::string& ctr)
      : ctr_(ctr), socket_(dir_.file("containerd.sock")) {
    // Host folders containerd and its shims make on first use whatever the config says (shim
    // sockets go to /run/containerd/s): those this test makes, it removes (when empty).
    for (const char* path : {"/run/containerd/s", "/run/containerd/fifo",
                             "/run/containerd/runc/fltest", "/run/containerd/runc",
                             "/run/containerd"})
      if (!fs::exists(path)) made_.push_back(path);
    const std::string t = dir_.path();
    write_file(dir_.file("config.toml"),
               fmt::format("version = 2\n"
                           "root = \"{0}/root\"\n"
                           "state = \"{0}/state\"\n"
                           "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"
                           "[grpc]\n  address = \"{0}/containerd.sock\"\n"
                           "[ttrpc]\n  address = \"{0}/containerd.sock.ttrpc\"\n"
                           "[debug]\n  address = \"{0}/debug.sock\"\n"
                           "[plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"{0}/opt\"\n",
                           t));
    // Its log (and its shims', which it passes on) goes to a file: quoted when it fails to start.
    daemon_.emplace("/bin/sh", "fl-test-containerd",
                    std::vector<std::string>{
                        "-c", fmt::format("exec '{}' --config '{}' >'{}' 2>&1", containerd,
                                          dir_.file("config.toml"), dir_.file("containerd.log"))});
    // Up in well under a second here; the margin is for a machine busy with a build.
    const auto give_up = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < give_up) {
      if (fs::exists(socket_) &&
          run_command({ctr_, "--address", socket_, "version"}, 5000).exit_code == 0)
        return;
      if (daemon_->exited()) break;
      std::this_thread::sleep_for(50ms);
    }
    throw std::runtime_error("the test's containerd did not come up at " + socket_ +
                             "; its log:\n" + read_file(dir_.file("containerd.log")));
  }

  ~PrivateContainerd() {
    for (const std::string& id : kContainerIds) {
      ctr({"task", "delete", "--force", id});
      ctr({"containers", "delete", id});  // and its snapshot
    }
    ctr({"images", "remove", "--sync", kImage});  // and its layer's snapshot
    daemon_.reset();                              // SIGTERM, then SIGKILL after 10 s; reaped
    // Shims outlive containerd: each runs on its own, with our socket in its arguments.
    for (pid_t pid : processes_naming(socket_)) kill(pid, SIGKILL);
    for (const std::string& id : kContainerIds) {
      // A container's processes, should its shim have died without killing them (as when
      // containerd died first, and `ctr task delete` could not reach it). Their cgroups can only
      // go once they are gone.
      for (int i = 0; i < 100 && !container_processes(id).empty(); ++i) {
        for (pid_t pid : container_processes(id)) kill(pid, SIGKILL);
        std::this_thread::sleep_for(50ms);
      }
      // A shim killed before it could remove its socket leaves it here, named by this hash.
      std::error_code ignored;
      fs::remove("/run/containerd/s/" + sha256_hex(socket_ + "/" + kNamespace + "/" + id), ignored);
    }
    unmount_under(dir_.path());
    remove_cgroups();
    std::error_code ignored;
    for (const std::string& path : made_) fs::remove(path, ignored);  // only if empty
  }  // dir_ goes last: the temp dir with containerd's root and state

  PrivateContainerd(const PrivateContainerd&) = delete;
  PrivateContainerd& operator=(const PrivateContainerd&) = delete;

  const std::string& socket() const { return socket_; }
  const TempDir& dir() const { return dir_; }

  // ctr in the test's namespace, against this containerd.
  CommandResult ctr(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {ctr_, "--address", socket_, "--namespace", kNamespace};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, 30000);
  }
  std::string ctr_or_throw(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {ctr_, "--address", socket_, "--namespace", kNamespace};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_or_throw(argv, 30000);
  }

 private:
  static std::vector<pid_t> processes_naming(const std::string& text) {
    std::vector<pid_t> found;
    for (const fs::directory_entry& e : fs::directory_iterator("/proc")) {
      const std::string name = e.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::string cmdline = read_file(e.path() / "cmdline");
      std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
      const pid_t pid = std::stoi(name);
      if (pid != getpid() && cmdline.find(text) != std::string::npos) found.push_back(pid);
    }
    return found;
  }

  // The processes in the container's cgroup, in whichever tree this host has: the v2 tree
  // mounted at /sys/fs/cgroup or at /sys/fs/cgroup/unified, or the v1 pids hierarchy.
  static std::vector<pid_t> container_processes(const std::string& id) {
    std::vector<pid_t> found;
    for (const char* root : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/pids"}) {
      std::ifstream procs(fmt::format("{}/{}/{}/cgroup.procs", root, kNamespace, id));
      for (pid_t pid; procs >> pid;) found.push_back(pid);
    }
    return found;
  }

  static void unmount_under(const std::string& dir) {
    std::vector<std::string> points;
    std::ifstream mountinfo("/proc/self/mountinfo");
    for (std::string line; std::getline(mountinfo, line);) {
      std::istringstream fields(line);
      std::string id, parent, device, root, point;
      fields >> id >> parent >> device >> root >> point;
      if (point.starts_with(dir + "/")) points.push_back(point);
    }
    std::sort(points.rbegin(), points.rend());  // the deepest first
    for (const std::string& p : points) umount2(p.c_str(), MNT_DETACH);
  }

  // runc makes /fltest/<id> in every hierarchy (v1 ones, name=systemd and the v2 tree); it
  // removes <id> when the task is deleted but leaves /fltest.
  static void remove_cgroups() {
    std::error_code ec;
    std::vector<fs::path> roots = {"/sys/fs/cgroup"};
    for (const fs::directory_entry& e : fs::directory_iterator("/sys/fs/cgroup", ec))
      if (e.is_directory(ec) && !e.is_symlink(ec)) roots.push_back(e.path());
    for (const fs::path& root : roots) {
      const fs::path ns = root / kNamespace;
      for (const std::string& id : kContainerIds) rmdir((ns / id).c_str());
      rmdir(ns.c_str());
    }
  }

  TempDir dir_;
  std::string ctr_;
  std::string socket_;
  std::optional<ChildProcess> daemon_;
  std::vector<std::string> made_;  // host folders that did not exist before, deepest first
};

// A docker-archive (`docker save`'s format) of one layer: /bin/busybox and its sleep applet.
std::string build_image(const TempDir& dir) {
  const std::string root = dir.file("image-root");
  const std::string archive = dir.file("image");
  fs::create_directories(root + "/bin");
  fs::create_directories(archive);
  fs::copy_file("/bin/busybox", root + "/bin/busybox");
  fs::create_symlink("busybox", root + "/bin/sleep");
  run_or_throw({"/bin/tar", "-C", root, "-cf", archive + "/layer.tar", "bin"});
  // containerd checks each layer against the config's diff_ids when it unpacks the image.
  const std::string diff_id = "sha256:" + sha256_hex(read_file(archive + "/layer.tar"));
  write_file(archive + "/config.json",
             fmt::format(R"({{"architecture":"amd64","os":"linux","config":{{}},)"
                         R"("rootfs":{{"type":"layers","diff_ids":["{}"]}}}})",
                         diff_id));
  write_file(archive + "/manifest.json",
             R"([{"Config":"config.json","RepoTags":["fltest/busybox:1"],)"
             R"("Layers":["layer.tar"]}])");
  const std::string tar = dir.file("image.tar");
  run_or_throw(
      {"/bin/tar", "-C", archive, "-cf", tar, "config.json", "manifest.json", "layer.tar"});
  return tar;
}

// The pid that `ctr task ls` (its output: TASK PID STATUS) shows for `id`; 0 when none.
pid_t task_pid_in(const std::string& ctr_task_ls, const std::string& id) {
  std::istringstream lines(ctr_task_ls);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string task, pid;
    if (fields >> task >> pid && task == id) return std::stoi(pid);
  }
  return 0;
}

}  // namespace

TEST_CASE("containerd: every container of every namespace, with its task's pid",
          "[containers][containerd]") {
  skip_unless_root("containerd and runc");
  std::map<std::string, std::string> tools;
  for (const char* tool : {"containerd", "ctr", "containerd-shim-runc-v2", "runc"}) {
    const std::optional<std::string> path = find_tool(tool);
    if (!path) skip(fmt::format("{} is not installed (apt-get install containerd runc)", tool));
    tools[tool] = *path;
  }
  if (!fs::exists("/bin/busybox")) skip("/bin/busybox is missing (apt-get install busybox-static)");
  if (std::string arch = run_command({"/usr/bin/dpkg", "--print-architecture"}).out;
      arch != "amd64\n")
    skip("the test's image is built for amd64, and this machine is " + arch);

  PrivateContainerd containerd(tools["containerd"], tools["ctr"]);
  const std::string image = build_image(containerd.dir());
  containerd.ctr_or_throw({"images", "import", image});
  // --null-io: no output FIFOs in /run/containerd/fifo; --runc-root: runc's state under the
  // test's folder, not /run/containerd/runc.
  const std::string runc_root = containerd.dir().file("runc");
  containerd.ctr_or_throw({"run", "--detach", "--null-io", "--runc-root", runc_root, "--label",
                           "app=web", "--label", "io.kubernetes.pod.namespace=shop", kImage,
                           "fl-web", "/bin/sleep", "1000"});
  // Created, never started: no runc state.
  containerd.ctr_or_throw(
      {"containers", "create", "--label", "app=idle", kImage, "fl-idle", "/bin/sleep", "1000"});
  const std::string tasks = containerd.ctr_or_throw({"task", "ls"});
  INFO("ctr task ls:\n" << tasks);
  const pid_t web_pid = task_pid_in(tasks, "fl-web");
  REQUIRE(web_pid > 0);

  auto listed = containerd_containers(containerd.socket(), 5s);
  if (!listed) FAIL(listed.error().message);
  std::vector<Container> found = *listed;
  std::sort(found.begin(), found.end(),
            [](const Container& a, const Container& b) { return a.id < b.id; });
  REQUIRE(found.size() == 2);
  const std::string found_by = "containerd API at " + containerd.socket();

  const Container& idle = found[0];
  CHECK(idle.runtime == "containerd");
  CHECK(idle.id == "fl-idle");
  CHECK(idle.name == "fl-idle");
  CHECK(idle.image == kImage);
  INFO("fl-idle's labels: " << render(idle.labels));
  // ctr adds the image's stop signal (SIGTERM when the image names none) to the labels given.
  CHECK(idle.labels == std::map<std::string, std::string>{
                           {"app", "idle"}, {"io.containerd.image.config.stop-signal", "SIGTERM"}});
  CHECK(idle.containerd_namespace == "fltest");
  CHECK(idle.init_pid == 0);
  CHECK(idle.found_by == found_by);

  const Container& web = found[1];
  CHECK(web.runtime == "containerd");
  CHECK(web.id == "fl-web");
  CHECK(web.name == "fl-web");
  CHECK(web.image == kImage);
  INFO("fl-web's labels: " << render(web.labels));
  CHECK(web.labels ==
        std::map<std::string, std::string>{{"app", "web"},
                                           {"io.containerd.image.config.stop-signal", "SIGTERM"},
                                           {"io.kubernetes.pod.namespace", "shop"}});
  CHECK(web.containerd_namespace == "fltest");
  CHECK(web.init_pid == web_pid);
  CHECK(kill(web.init_pid, 0) == 0);
  CHECK(read_file(fmt::format("/proc/{}/comm", web.init_pid)) == "sleep\n");
  CHECK(web.found_by == found_by);
  // Where ctr's containers are in the cgroup tree, for finding them without the API: runc's
  // cgroupfs driver puts each at /<namespace>/<id>, in every hierarchy.
  const std::string cgroups = read_file(fmt::format("/proc/{}/cgroup", web.init_pid));
  CHECK(cgroups.find("0::/fltest/fl-web\n") != std::string::npos);

  // A task that has exited: its container is still listed, with no pid to aim at.
  containerd.ctr_or_throw({"task", "kill", "--signal", "KILL", "fl-web"});
  for (int i = 0; i < 100 && kill(web_pid, 0) == 0; ++i) std::this_thread::sleep_for(50ms);
  auto after_exit = containerd_containers(containerd.socket(), 5s);
  if (!after_exit) FAIL(after_exit.error().message);
  REQUIRE(after_exit->size() == 2);
  for (const Container& c : *after_exit) CHECK(c.init_pid == 0);
}

TEST_CASE("containerd: no socket at the path is an empty list, not an error",
          "[containers][containerd]") {
  TempDir dir;
  auto listed = containerd_containers(dir.file("containerd.sock"), 2s);
  if (!listed) FAIL(listed.error().message);
  CHECK(listed->empty());
  // A missing directory on the way is the same: containerd is not here.
  auto deeper = containerd_containers(dir.file("run/containerd/containerd.sock"), 2s);
  if (!deeper) FAIL(deeper.error().message);
  CHECK(deeper->empty());
}

TEST_CASE("containerd: a path that is not containerd's socket is a clear error",
          "[containers][containerd]") {
  TempDir dir;

  SECTION("a regular file") {
    const std::string path = dir.file("containerd.sock");
    write_file(path, "not a socket");
    auto listed = containerd_containers(path, 2s);
    REQUIRE_FALSE(listed.has_value());
    CHECK(listed.error().message ==
          "containerd API at " + path +
              ": not a unix socket; containerd's is /run/containerd/containerd.sock unless "
              "CONTAINERD_ADDRESS names another");
  }

  SECTION("a socket no one listens on any more (containerd stopped)") {
    const std::string path = dir.file("stale.sock");
    { SilentSocket gone(path); }  // closed; the file stays, as after a crash
    auto listed = containerd_containers(path, 2s);
    REQUIRE_FALSE(listed.has_value());
    INFO(listed.error().message);
    CHECK(listed.error().message.starts_with("containerd API at " + path + ": connect failed: "));
    CHECK(listed.error().message.find("Connection refused") != std::string::npos);
  }

  SECTION("a socket that never answers: the deadline ends the call") {
    const std::string path = dir.file("silent.sock");
    SilentSocket silent(path);
    const auto start = std::chrono::steady_clock::now();
    auto listed = containerd_containers(path, 500ms);
    const auto took = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(listed.has_value());
    CHECK(listed.error().message ==
          "containerd API at " + path +
              ": Namespaces.List: no answer within 500ms; is this containerd's socket, and is "
              "containerd responding?");
    // The deadline bounds the call; the margin is for a loaded machine, not a measurement.
    CHECK(took >= 500ms);
    CHECK(took < 10s);
  }
}

TEST_CASE("containerd: CONTAINERD_ADDRESS names the socket, as for ctr",
          "[containers][containerd]") {
  const char* before = std::getenv("CONTAINERD_ADDRESS");
  const std::optional<std::string> saved =
      before ? std::optional<std::string>(before) : std::nullopt;
  faultline::Defer restore([&] {
    if (saved)
      setenv("CONTAINERD_ADDRESS", saved->c_str(), 1);
    else
      unsetenv("CONTAINERD_ADDRESS");
  });
  unsetenv("CONTAINERD_ADDRESS");
  CHECK(containerd_socket_path() == "/run/containerd/containerd.sock");
  setenv("CONTAINERD_ADDRESS", "", 1);
  CHECK(containerd_socket_path() == "/run/containerd/containerd.sock");
  setenv("CONTAINERD_ADDRESS", "/run/k3s/containerd/containerd.sock", 1);
  CHECK(containerd_socket_path() == "/run/k3s/containerd/containerd.sock");
  setenv("CONTAINERD_ADDRESS", "unix:///var/run/containerd.sock", 1);
  CHECK(containerd_socket_path() == "/var/run/containerd.sock");
}

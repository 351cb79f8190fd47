#include "agent/daemon/service_manager.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <string>

using namespace faultline;

namespace {

// A datagram socket standing in for systemd's notify socket, at `name` (a path, or "@..." for
// the abstract namespace); $NOTIFY_SOCKET names it while it lives.
class NotifySocket {
 public:
  explicit NotifySocket(std::string name) : name_(std::move(name)) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, name_.data(), name_.size());
    if (name_[0] == '@') a.sun_path[0] = '\0';
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name_.size());
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&a), len) == 0);
    setenv("NOTIFY_SOCKET", name_.c_str(), 1);
  }
  ~NotifySocket() {
    unsetenv("NOTIFY_SOCKET");
    close(fd_);
    if (name_[0] == '/') unlink(name_.c_str());
  }
  std::string received() const {
    char buffer[256] = {};
    const ssize_t got = recv(fd_, buffer, sizeof buffer, 0);
    return got < 0 ? std::string("(nothing: ") + std::strerror(errno) + ")"
                   : std::string(buffer, static_cast<size_t>(got));
  }

 private:
  std::string name_;
  int fd_ = -1;
};

}  // namespace

TEST_CASE("the agent tells systemd it is ready through $NOTIFY_SOCKET", "[agent][systemd]") {
  SECTION("a socket at a path") {
    NotifySocket sock("/tmp/fl-test-notify-" + std::to_string(getpid()));
    CHECK(notify_service_manager("READY=1"));
    CHECK(sock.received() == "READY=1");
    CHECK(notify_service_manager("STOPPING=1"));
    CHECK(sock.received() == "STOPPING=1");
  }
  SECTION("a socket in the abstract namespace") {
    NotifySocket sock("@fl-test-notify-" + std::to_string(getpid()));
    CHECK(notify_service_manager("READY=1"));
    CHECK(sock.received() == "READY=1");
  }
  SECTION("no socket: nothing is sent, and that is no error for the agent") {
    unsetenv("NOTIFY_SOCKET");
    CHECK_FALSE(notify_service_manager("READY=1"));
    setenv("NOTIFY_SOCKET", "relative/path", 1);
    CHECK_FALSE(notify_service_manager("READY=1"));
    unsetenv("NOTIFY_SOCKET");
  }
}

// faultline certs as a user runs it: `openssl verify` accepts what it makes, exit codes and
// exact messages for bad input.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/support/child_process.h"

namespace fs = std::filesystem;
using faultline::test::run_command;

namespace {
struct TempDir {
  std::string path;
  TempDir() {
    char pattern[] = "/tmp/fl-test-certs-cli-XXXXXX";
    path = mkdtemp(pattern);
  }
  ~TempDir() { fs::remove_all(path); }
};
}  // namespace

TEST_CASE("faultline certs makes what openssl verify accepts, and reuses its CA", "[certs]") {
  if (access("/usr/bin/openssl", X_OK) != 0) {
    std::printf("SKIPPED: needs the openssl command (apt-get install openssl)\n");
    std::_Exit(77);
  }
  TempDir tmp;
  const std::string out = tmp.path + "/tls";
  const auto made = run_command({FAULTLINE_BINARY, "certs", "--out", out, "--agents",
                                 "web-1=10.0.0.11,db-1=fd00::21", "--days", "30"});
  INFO(made.err);
  REQUIRE(made.exit_code == 0);
  CHECK(made.out.starts_with("made a new CA (valid until "));
  CHECK(made.out.ends_with("wrote " + out + "/controller.pem\nwrote " + out + "/controller.key\n"));
  for (const char* purpose : {"sslserver"})
    for (const char* cert : {"/web-1.pem", "/db-1.pem"}) {
      const auto v = run_command({"/usr/bin/openssl", "verify", "-purpose", purpose, "-CAfile",
                                  out + "/ca.pem", out + cert});
      CHECK(v.out == out + cert + ": OK\n");
    }
  const auto client = run_command({"/usr/bin/openssl", "verify", "-purpose", "sslclient", "-CAfile",
                                   out + "/ca.pem", out + "/controller.pem"});
  CHECK(client.out == out + "/controller.pem: OK\n");

  const auto refused = run_command({FAULTLINE_BINARY, "certs", "--out", out, "--agents", "web-2"});
  CHECK(refused.exit_code == 2);
  CHECK(refused.err == "faultline certs: error: " + out + "/controller.pem, " + out +
                           "/controller.key already exist; pass --force to replace them\n");
  const auto added =
      run_command({FAULTLINE_BINARY, "certs", "--out", out, "--agents", "web-2", "--force"});
  CHECK(added.exit_code == 0);
  CHECK(added.out.starts_with("reusing the CA in " + out + "/ca.pem (valid until "));
  const auto v =
      run_command({"/usr/bin/openssl", "verify", "-CAfile", out + "/ca.pem", out + "/web-2.pem"});
  CHECK(v.out == out + "/web-2.pem: OK\n");
}

TEST_CASE("faultline certs refuses bad names with the fix, exit 2, writing nothing", "[certs]") {
  TempDir tmp;
  const std::string out = tmp.path + "/tls";
  const auto r = run_command({FAULTLINE_BINARY, "certs", "--out", out, "--agents", "web-1,web 2"});
  CHECK(r.exit_code == 2);
  CHECK(r.err ==
        "faultline certs: error: invalid name 'web 2': use 1 to 63 letters, digits, "
        "'.' or '-', e.g. web-1\n");
  const auto c = run_command(
      {FAULTLINE_BINARY, "certs", "--out", out, "--agents", "web-1", "--controller-name", "ctl_1"});
  CHECK(c.exit_code == 2);
  CHECK(c.err ==
        "faultline certs: error: invalid name 'ctl_1': use 1 to 63 letters, digits, "
        "'.' or '-', e.g. web-1\n");
  CHECK_FALSE(fs::exists(out));
}

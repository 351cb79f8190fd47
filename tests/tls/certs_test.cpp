// faultline certs: the chain verifies with OpenSSL itself, names and usages are exactly the ones
// asked for, keys are private, an existing CA is reused and a foreign one is not trusted.
#include "tls/certs.h"

#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>

namespace fs = std::filesystem;
using namespace faultline::tls;

namespace {

// A fresh directory per test, removed whichever way the test ends.
struct TempDir {
  fs::path path;
  TempDir() {
    char pattern[] = "/tmp/fl-test-certs-XXXXXX";
    path = mkdtemp(pattern);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

std::unique_ptr<X509, decltype(&X509_free)> load_cert(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  REQUIRE(f != nullptr);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  REQUIRE(cert != nullptr);
  return {cert, X509_free};
}

// X509_verify_cert of `leaf` against `ca` as the only trust anchor, for `purpose`
// (X509_PURPOSE_SSL_SERVER / _CLIENT); the verify error text, or "ok".
std::string verify(const std::string& ca, const std::string& leaf, int purpose) {
  auto ca_cert = load_cert(ca);
  auto leaf_cert = load_cert(leaf);
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  X509_STORE_add_cert(store.get(), ca_cert.get());
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                      X509_STORE_CTX_free);
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf_cert.get(), nullptr);
  X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  if (X509_verify_cert(ctx.get()) == 1) return "ok";
  return X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
}

CertificateInfo info_of(const std::string& path) {
  auto pem = read_pem_file(path);
  REQUIRE(pem);
  auto info = describe_certificate(*pem);
  REQUIRE(info);
  return *info;
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

IssueOptions options_for(const TempDir& dir, const std::string& agents) {
  IssueOptions options;
  options.dir = dir / "tls";
  auto parsed = parse_agent_list(agents);
  REQUIRE(parsed);
  options.agents = *parsed;
  return options;
}

}  // namespace

TEST_CASE("certs: the chain verifies, with exactly the names and usages asked for", "[certs]") {
  TempDir dir;
  const IssueOptions options = options_for(dir, "web-1=10.0.0.11,db-1,v6.host=fd00::21");
  auto report = issue_cluster_certs(options);
  REQUIRE(report);
  CHECK_FALSE(report->reused_ca);
  const std::string out = options.dir;
  CHECK(report->written ==
        std::vector<std::string>{out + "/ca.pem", out + "/ca.key", out + "/web-1.pem",
                                 out + "/web-1.key", out + "/db-1.pem", out + "/db-1.key",
                                 out + "/v6.host.pem", out + "/v6.host.key",
                                 out + "/controller.pem", out + "/controller.key"});

  const CertificateInfo ca = info_of(out + "/ca.pem");
  CHECK(ca.is_ca);
  CHECK(ca.common_name == "faultline CA");

  const CertificateInfo web = info_of(out + "/web-1.pem");
  CHECK(web.common_name == "web-1");
  CHECK(web.dns_names == std::vector<std::string>{"web-1"});
  CHECK(web.ip_addresses == std::vector<std::string>{"10.0.0.11"});
  CHECK(web.extended_key_usages == std::vector<std::string>{"serverAuth"});
  CHECK_FALSE(web.is_ca);

  const CertificateInfo db = info_of(out + "/db-1.pem");
  CHECK(db.dns_names == std::vector<std::string>{"db-1"});
  CHECK(db.ip_addresses.empty());
  CHECK(info_of(out + "/v6.host.pem").ip_addresses == std::vector<std::string>{"fd00::21"});

  const CertificateInfo controller = info_of(out + "/controller.pem");
  CHECK(controller.common_name == "controller");
  CHECK(controller.dns_names == std::vector<std::string>{"controller"});
  CHECK(controller.ip_addresses.empty());
  CHECK(controller.extended_key_usages == std::vector<std::string>{"clientAuth"});
  CHECK(*certificate_names(*read_pem_file(out + "/controller.pem")) ==
        std::vector<std::string>{"controller"});

  // About 825 days (the default), never longer than the CA.
  const auto days = std::chrono::duration_cast<std::chrono::hours>(web.not_after -
                                                                   std::chrono::system_clock::now())
                        .count() /
                    24;
  CHECK((days == 824 || days == 825));
  CHECK(web.not_after <= ca.not_after);

  CHECK(verify(out + "/ca.pem", out + "/web-1.pem", X509_PURPOSE_SSL_SERVER) == "ok");
  CHECK(verify(out + "/ca.pem", out + "/db-1.pem", X509_PURPOSE_SSL_SERVER) == "ok");
  CHECK(verify(out + "/ca.pem", out + "/controller.pem", X509_PURPOSE_SSL_CLIENT) == "ok");
  // Each certificate does its own job only.
  CHECK(verify(out + "/ca.pem", out + "/web-1.pem", X509_PURPOSE_SSL_CLIENT) ==
        std::string("unsuitable certificate purpose"));
  CHECK(verify(out + "/ca.pem", out + "/controller.pem", X509_PURPOSE_SSL_SERVER) ==
        std::string("unsuitable certificate purpose"));

  CHECK(mode_of(out) == 0700);
  for (const char* key : {"/ca.key", "/web-1.key", "/db-1.key", "/controller.key"})
    CHECK(mode_of(out + key) == 0600);
  CHECK(mode_of(out + "/web-1.pem") == 0644);
}

TEST_CASE("certs: a second run reuses the CA, so agents can be added later", "[certs]") {
  TempDir dir;
  IssueOptions options = options_for(dir, "web-1");
  options.controller_name = "ctl";
  REQUIRE(issue_cluster_certs(options));
  const std::string ca_before = *read_pem_file(options.dir + "/ca.pem");

  options = options_for(dir, "web-2");
  options.controller_name = "ctl";
  auto again = issue_cluster_certs(options);
  REQUIRE(!again);  // ctl.pem exists
  CHECK(again.error().refused);
  CHECK(again.error().message == options.dir + "/ctl.pem, " + options.dir +
                                     "/ctl.key already exist; pass --force to replace them");

  options.force = true;
  auto report = issue_cluster_certs(options);
  REQUIRE(report);
  CHECK(report->reused_ca);
  CHECK(report->written ==
        std::vector<std::string>{options.dir + "/web-2.pem", options.dir + "/web-2.key",
                                 options.dir + "/ctl.pem", options.dir + "/ctl.key"});
  CHECK(*read_pem_file(options.dir + "/ca.pem") == ca_before);
  CHECK(verify(options.dir + "/ca.pem", options.dir + "/web-1.pem", X509_PURPOSE_SSL_SERVER) ==
        "ok");
  CHECK(verify(options.dir + "/ca.pem", options.dir + "/web-2.pem", X509_PURPOSE_SSL_SERVER) ==
        "ok");
}

TEST_CASE("certs: a certificate from another CA does not verify", "[certs]") {
  TempDir one, two;
  const IssueOptions a = options_for(one, "web-1"), b = options_for(two, "web-1");
  REQUIRE(issue_cluster_certs(a));
  REQUIRE(issue_cluster_certs(b));
  CHECK(verify(a.dir + "/ca.pem", b.dir + "/web-1.pem", X509_PURPOSE_SSL_SERVER) ==
        std::string("unable to get local issuer certificate"));
}

TEST_CASE("certs: bad names and addresses are refused with the fix", "[certs]") {
  CHECK(parse_agent_list("web_1").error().message ==
        "invalid name 'web_1': use 1 to 63 letters, digits, '.' or '-', e.g. web-1");
  CHECK(parse_agent_list("web-1,").error().message ==
        "invalid name '': use 1 to 63 letters, digits, '.' or '-', e.g. web-1");
  CHECK(parse_agent_list(std::string(64, 'a')).error().message ==
        "invalid name '" + std::string(64, 'a') +
            "': use 1 to 63 letters, digits, '.' or '-', e.g. web-1");
  CHECK(parse_agent_list("..").error().message ==
        "invalid name '..': use 1 to 63 letters, digits, '.' or '-', e.g. web-1");
  CHECK(parse_agent_list("web-1=10.0.0.300").error().message ==
        "agent 'web-1': '10.0.0.300' is not an IPv4 or IPv6 address, e.g. web-1=10.0.0.11");
  CHECK(parse_agent_list("web-1,web-1").error().message ==
        "agent 'web-1' is named twice in --agents");
  CHECK(parse_agent_list(std::string(63, 'a')));

  TempDir dir;
  IssueOptions options = options_for(dir, "web-1");
  options.controller_name = "ctl/../x";
  auto r = issue_cluster_certs(options);
  REQUIRE(!r);
  CHECK(r.error().refused);
  CHECK(r.error().message ==
        "invalid name 'ctl/../x': use 1 to 63 letters, digits, '.' or '-', e.g. web-1");
  options = options_for(dir, "ca");
  CHECK(issue_cluster_certs(options).error().message ==
        "'ca' cannot name an agent or the controller: ca.pem and ca.key are the CA's");
  options = options_for(dir, "controller");
  CHECK(issue_cluster_certs(options).error().message ==
        "agent 'controller' has the controller's name; rename the agent or pass "
        "--controller-name");
  CHECK_FALSE(fs::exists(options.dir));  // nothing was written
}

TEST_CASE("certs: a CA file without its key is refused, not replaced", "[certs]") {
  TempDir dir;
  IssueOptions options = options_for(dir, "web-1");
  REQUIRE(issue_cluster_certs(options));
  fs::remove(options.dir + "/ca.key");
  options.force = true;
  auto r = issue_cluster_certs(options);
  REQUIRE(!r);
  CHECK(r.error().message == "'" + options.dir + "/ca.pem' exists but '" + options.dir +
                                 "/ca.key' does not; restore it, or move '" + options.dir +
                                 "/ca.pem' away to make a new CA");
}

TEST_CASE("read_pem_file names the file and the problem", "[certs]") {
  TempDir dir;
  CHECK(read_pem_file(dir / "missing.pem").error().message ==
        "cannot read '" + (dir / "missing.pem") + "': No such file or directory");
  std::ofstream(dir / "empty.pem").close();
  CHECK(read_pem_file(dir / "empty.pem").error().message ==
        "'" + (dir / "empty.pem") + "' is empty; expected a PEM certificate or key");
  std::ofstream(dir / "der.pem") << "\x30\x82\x01\x0a";
  CHECK(read_pem_file(dir / "der.pem").error().message ==
        "'" + (dir / "der.pem") +
            "' is not a PEM file (no '-----BEGIN' line); DER files need converting: openssl "
            "x509 -inform der -in FILE -out FILE.pem");
  CHECK(describe_certificate("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
            .error()
            .message.starts_with("not a PEM certificate: "));
}

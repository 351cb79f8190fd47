// Making a cluster's certificates: an EC P-256 CA, and server/client certificates signed by it.
#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "core/defer.h"
#include "tls/certs.h"
#include "tls/openssl_util.h"

namespace faultline::tls {
namespace {

constexpr mode_t kKeyMode = 0600;
constexpr mode_t kCertMode = 0644;
constexpr mode_t kDirMode = 0700;
constexpr long kClockSkewSeconds = 3600;  // notBefore an hour back: hosts' clocks differ
constexpr const char* kCaCommonName = "faultline CA";

struct Issuer {
  X509* cert = nullptr;  // null: the certificate signs itself
  EVP_PKEY* key = nullptr;
};

struct Profile {
  std::string common_name;
  // (NID, OpenSSL config value), added in this order after subjectKeyIdentifier.
  std::vector<std::pair<int, std::string>> extensions;
};

Result<KeyPtr> new_key() {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return openssl_failure("cannot generate an EC P-256 key");
  return key;
}

Result<void> add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtensionPtr extension(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!extension || X509_add_ext(cert, extension.get(), -1) != 1)
    return openssl_failure(fmt::format("cannot add {} '{}'", OBJ_nid2sn(nid), value));
  return {};
}

Result<void> set_random_serial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return openssl_failure("no random serial number");
  bytes[0] &= 0x7f;  // serial numbers are positive
  BignumPtr serial(BN_bin2bn(bytes, sizeof bytes, nullptr));
  if (!serial || BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) == nullptr)
    return openssl_failure("cannot set the serial number");
  return {};
}

Result<X509Ptr> make_certificate(EVP_PKEY* key, const Profile& profile, Issuer issuer, int days) {
  X509Ptr cert(X509_new());
  if (!cert) return openssl_failure("cannot allocate a certificate");
  X509* const signer = issuer.cert != nullptr ? issuer.cert : cert.get();
  EVP_PKEY* const signing_key = issuer.key != nullptr ? issuer.key : key;
  X509_NAME* subject = X509_get_subject_name(cert.get());
  const auto* cn = reinterpret_cast<const unsigned char*>(profile.common_name.c_str());
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8, cn, -1, -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) != 1 ||
      X509_set_pubkey(cert.get(), key) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kClockSkewSeconds) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, nullptr) == nullptr)
    return openssl_failure("cannot fill in the certificate for " + profile.common_name);
  // A certificate never outlives the CA that signed it: it would stop verifying before then.
  if (issuer.cert != nullptr &&
      ASN1_TIME_compare(X509_get0_notAfter(cert.get()), X509_get0_notAfter(issuer.cert)) > 0 &&
      X509_set1_notAfter(cert.get(), X509_get0_notAfter(issuer.cert)) != 1)
    return openssl_failure("cannot limit the validity to the CA's");
  FL_TRY_VOID(set_random_serial(cert.get()));
  // The subject key identifier first: the authority key identifier of a self-signed CA is its own.
  FL_TRY_VOID(add_extension(cert.get(), signer, NID_subject_key_identifier, "hash"));
  FL_TRY_VOID(add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid:always"));
  for (const auto& [nid, value] : profile.extensions)
    FL_TRY_VOID(add_extension(cert.get(), signer, nid, value));
  if (X509_sign(cert.get(), signing_key, EVP_sha256()) <= 0)
    return openssl_failure("cannot sign the certificate for " + profile.common_name);
  return cert;
}

Profile ca_profile() {
  return {kCaCommonName,
          {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
           {NID_key_usage, "critical,keyCertSign,cRLSign"}}};
}

Profile agent_profile(const AgentName& agent) {
  std::string san = "DNS:" + agent.name;
  if (agent.address) san += ",IP:" + *agent.address;
  return {agent.name,
          {{NID_basic_constraints, "critical,CA:FALSE"},
           {NID_key_usage, "critical,digitalSignature"},
           {NID_ext_key_usage, "serverAuth"},
           {NID_subject_alt_name, san}}};
}

Profile controller_profile(const std::string& name) {
  return {name,
          {{NID_basic_constraints, "critical,CA:FALSE"},
           {NID_key_usage, "critical,digitalSignature"},
           {NID_ext_key_usage, "clientAuth"},
           {NID_subject_alt_name, "DNS:" + name}}};
}

Result<std::string> bio_text(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  if (length <= 0) return openssl_failure("cannot encode PEM");
  return std::string(data, static_cast<size_t>(length));
}

Result<std::string> certificate_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1)
    return openssl_failure("cannot encode a certificate");
  return bio_text(bio.get());
}

Result<std::string> key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return openssl_failure("cannot encode a private key");
  return bio_text(bio.get());
}

// Temporary file, fsync, rename: a reader never sees half a key, and a key is never readable
// by others, not even for a moment (created with its final mode, whatever the umask).
Result<void> write_file(const std::string& path, const std::string& text, mode_t mode) {
  const std::string temporary = fmt::format("{}.tmp-{}", path, getpid());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail("cannot write '{}': {}", temporary, std::strerror(errno));
  Defer close_fd([fd] { ::close(fd); });
  Defer remove_temporary([&temporary] { ::unlink(temporary.c_str()); });
  if (fchmod(fd, mode) != 0) return fail("cannot chmod '{}': {}", temporary, std::strerror(errno));
  for (size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot write '{}': {}", temporary, std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) return fail("cannot write '{}': {}", temporary, std::strerror(errno));
  if (::rename(temporary.c_str(), path.c_str()) != 0)
    return fail("cannot rename '{}' to '{}': {}", temporary, path, std::strerror(errno));
  remove_temporary.dismiss();
  return {};
}

Result<void> sync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0) {
    const int saved = errno;
    if (fd >= 0) ::close(fd);
    return fail("cannot sync directory '{}': {}", dir, std::strerror(saved));
  }
  ::close(fd);
  return {};
}

Result<void> make_directory(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    if (!std::filesystem::is_directory(dir, ec))
      return fail("--out '{}' exists and is not a directory", dir);
    return {};
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail("cannot create directory '{}': {}", dir, ec.message());
  if (chmod(dir.c_str(), kDirMode) != 0)
    return fail("cannot chmod directory '{}': {}", dir, std::strerror(errno));
  return {};
}

struct LoadedCa {
  X509Ptr cert;
  KeyPtr key;
};

Result<LoadedCa> load_ca(const std::string& cert_path, const std::string& key_path) {
  LoadedCa ca;
  const std::string cert_pem = FL_TRY(read_pem_file(cert_path));
  const std::string key_pem_text = FL_TRY(read_pem_file(key_path));
  auto cert = parse_certificate(cert_pem);
  if (!cert) return fail("'{}': {}", cert_path, cert.error().message);
  auto key = parse_private_key(key_pem_text);
  if (!key) return fail("'{}': {}", key_path, key.error().message);
  ca.cert = std::move(*cert);
  ca.key = std::move(*key);
  if (X509_check_private_key(ca.cert.get(), ca.key.get()) != 1)
    return fail(
        "'{}' is not the key of '{}'; restore the CA's own key, or move both away to "
        "make a new CA (every certificate must then be made again)",
        key_path, cert_path);
  const CertificateInfo info = FL_TRY(describe_certificate(cert_pem));
  if (!info.is_ca)
    return fail(
        "'{}' is not a CA certificate (basicConstraints CA:TRUE); move it away to make "
        "a new CA",
        cert_path);
  if (info.not_after <= std::chrono::system_clock::now())
    return fail(
        "the CA '{}' expired on {}; move ca.pem and ca.key away to make a new one "
        "(every certificate must then be made again)",
        cert_path, format_time(info.not_after));
  return ca;
}

bool exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

// Everything that can be checked before the first file is written; the CA when it exists.
Result<std::optional<LoadedCa>> check_options(const IssueOptions& options) {
  FL_TRY_VOID(check_name(options.controller_name));
  if (options.days < 1) return fail("--days must be at least 1 (got {})", options.days);
  if (options.agents.empty()) return fail("no agents: name at least one with --agents");
  std::vector<std::string> names;
  for (const AgentName& agent : options.agents) {
    FL_TRY_VOID(check_name(agent.name));
    if (agent.name == options.controller_name)
      return fail(
          "agent '{}' has the controller's name; rename the agent or pass "
          "--controller-name",
          agent.name);
    names.push_back(agent.name);
  }
  names.push_back(options.controller_name);
  for (const std::string& name : names)
    if (name == "ca")
      return fail("'ca' cannot name an agent or the controller: ca.pem and ca.key are the CA's");

  const std::string& dir = options.dir;
  const std::string ca_cert_path = dir + "/ca.pem", ca_key_path = dir + "/ca.key";
  const bool have_ca_cert = exists(ca_cert_path), have_ca_key = exists(ca_key_path);
  if (have_ca_cert != have_ca_key)
    return fail("'{}' exists but '{}' does not; restore it, or move '{}' away to make a new CA",
                have_ca_cert ? ca_cert_path : ca_key_path,
                have_ca_cert ? ca_key_path : ca_cert_path,
                have_ca_cert ? ca_cert_path : ca_key_path);
  if (!options.force) {
    std::vector<std::string> taken;
    for (const std::string& name : names)
      for (const char* suffix : {".pem", ".key"})
        if (exists(dir + "/" + name + suffix)) taken.push_back(dir + "/" + name + suffix);
    if (!taken.empty())
      return fail("{} already exist{}; pass --force to replace {}", fmt::join(taken, ", "),
                  taken.size() == 1 ? "s" : "", taken.size() == 1 ? "it" : "them");
  }
  if (!have_ca_cert) return std::optional<LoadedCa>();
  return std::optional<LoadedCa>(FL_TRY(load_ca(ca_cert_path, ca_key_path)));
}

}  // namespace

Result<IssueReport> issue_cluster_certs(const IssueOptions& options) {
  auto checked = check_options(options);
  if (!checked) {
    checked.error().refused = true;  // nothing was written
    return std::unexpected(std::move(checked.error()));
  }
  const std::string& dir = options.dir;
  IssueReport report;
  LoadedCa ca;
  if (*checked) {
    ca = std::move(**checked);
    report.reused_ca = true;
  } else {
    FL_TRY_VOID(make_directory(dir));
    ca.key = FL_TRY(new_key());
    ca.cert = FL_TRY(make_certificate(ca.key.get(), ca_profile(), {}, options.days));
    // The key first: a ca.pem without its key would block the next run.
    const std::string key_text = FL_TRY(key_pem(ca.key.get()));
    const std::string cert_text = FL_TRY(certificate_pem(ca.cert.get()));
    FL_TRY_VOID(write_file(dir + "/ca.key", key_text, kKeyMode));
    FL_TRY_VOID(write_file(dir + "/ca.pem", cert_text, kCertMode));
    report.written.push_back(dir + "/ca.pem");
    report.written.push_back(dir + "/ca.key");
  }
  report.ca_not_after = format_time(FL_TRY(to_time_point(X509_get0_notAfter(ca.cert.get()))));

  const Issuer issuer{ca.cert.get(), ca.key.get()};
  const auto issue = [&](const std::string& name, const Profile& profile) -> Result<void> {
    KeyPtr key = FL_TRY(new_key());
    X509Ptr cert = FL_TRY(make_certificate(key.get(), profile, issuer, options.days));
    const std::string key_text = FL_TRY(key_pem(key.get()));
    const std::string cert_text = FL_TRY(certificate_pem(cert.get()));
    FL_TRY_VOID(write_file(dir + "/" + name + ".key", key_text, kKeyMode));
    FL_TRY_VOID(write_file(dir + "/" + name + ".pem", cert_text, kCertMode));
    report.written.push_back(dir + "/" + name + ".pem");
    report.written.push_back(dir + "/" + name + ".key");
    return {};
  };
  for (const AgentName& agent : options.agents)
    FL_TRY_VOID(issue(agent.name, agent_profile(agent)));
  FL_TRY_VOID(issue(options.controller_name, controller_profile(options.controller_name)));
  FL_TRY_VOID(sync_directory(dir));
  return report;
}

}  // namespace faultline::tls

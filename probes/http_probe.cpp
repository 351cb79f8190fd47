// HTTP checks with libcurl: status, optional body regex, and latency against a maximum.
#include <algorithm>

#include "core/curl_library.h"
#include "probes/probe.h"
#include "core/user_regex.h"

namespace faultline {
namespace {

constexpr size_t kMaxBody = 1 << 20;  // enough to match a page; larger bodies are cut

size_t collect(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  const size_t n = size * count;
  if (body->size() < kMaxBody) body->append(data, std::min(n, kMaxBody - body->size()));
  return n;
}

class HttpProbeImpl final : public Probe {
 public:
  explicit HttpProbeImpl(const ProbeSpec& spec) : spec_(spec) {
    if (auto library = curl_library(); library) {
      c_ = *library;
      curl_ = c_->easy_init();
    } else {
      load_error_ = library.error().message;
    }
    // Validated with the same compile (controller/scenario/parse_probe.cpp, agent/wire/wire.cpp).
    if (spec.expect.body_matches) {
      auto re = UserRegex::compile(*spec.expect.body_matches, "body_matches");
      if (re)
        body_re_ = std::move(*re);
      else
        load_error_ = re.error().message;
    }
  }
  ~HttpProbeImpl() override {
    if (curl_ != nullptr) c_->easy_cleanup(curl_);
  }

  CheckResult check() override {
    if (!load_error_.empty()) return {false, load_error_, std::nullopt, true};
    if (curl_ == nullptr) return {false, "libcurl could not be initialised", std::nullopt, true};
    std::string body;
    c_->easy_reset(curl_);
    c_->easy_setopt(curl_, CURLOPT_URL, spec_.http.url.c_str());
    c_->easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, spec_.http.method.c_str());
    if (spec_.http.method == "HEAD") c_->easy_setopt(curl_, CURLOPT_NOBODY, 1L);
    c_->easy_setopt(
        curl_, CURLOPT_TIMEOUT_MS,
        static_cast<long>(
            std::chrono::duration_cast<std::chrono::milliseconds>(spec_.http.timeout).count()));
    c_->easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    c_->easy_setopt(curl_, CURLOPT_WRITEFUNCTION, collect);
    c_->easy_setopt(curl_, CURLOPT_WRITEDATA, &body);
    c_->easy_setopt(curl_, CURLOPT_USERAGENT, "faultline/" FAULTLINE_VERSION);
    // A fresh connection per check: a kept-alive connection to a killed worker says nothing
    // about whether new users get served.
    c_->easy_setopt(curl_, CURLOPT_FORBID_REUSE, 1L);
    const TimePoint start = Clock::now();
    const CURLcode rc = c_->easy_perform(curl_);
    const Duration latency = Clock::now() - start;
    if (rc != CURLE_OK)
      return {false, fmt::format("{} after {:.1f} ms", c_->easy_strerror(rc), to_ms(latency)),
              latency};
    long status = 0;
    c_->easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    CheckResult r{true, fmt::format("{} in {:.1f} ms", status, to_ms(latency)), latency};
    const auto& want = spec_.expect.status;
    if (std::find(want.begin(), want.end(), static_cast<int>(status)) == want.end()) r.ok = false;
    if (spec_.expect.max_latency && latency > *spec_.expect.max_latency) {
      r.ok = false;
      r.observed += fmt::format(" (over {})", format_duration(*spec_.expect.max_latency));
    }
    if (body_re_ && !body_re_->search(body)) {
      r.ok = false;
      r.observed += ", body does not match";
    }
    return r;
  }

 private:
  const ProbeSpec spec_;
  const CurlLibrary* c_ = nullptr;
  std::string load_error_;
  CURL* curl_ = nullptr;
  std::optional<UserRegex> body_re_;
};

}  // namespace

std::unique_ptr<Probe> make_http_probe(const ProbeSpec& spec) {
  return std::make_unique<HttpProbeImpl>(spec);
}

}  // namespace faultline

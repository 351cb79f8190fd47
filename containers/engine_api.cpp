#include "containers/engine_api.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/curl_library.h"

namespace faultline {
namespace {

// A list of a few thousand containers is a few MB; more than this is not the API answering.
constexpr size_t kMaxReply = 64u << 20;
// The API version both dockerd 20.10+ and podman 4 serve; pinned so replies keep one shape.
constexpr const char* kApiVersion = "v1.41";

size_t collect(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  const size_t n = size * count;
  if (body->size() + n > kMaxReply) return 0;  // curl then fails the transfer
  body->append(data, n);
  return n;
}

struct Reply {
  long status = 0;
  std::string body;
};

// nullopt when nothing listens at `path`.
Result<std::optional<Reply>> get(const std::string& path, const std::string& endpoint,
                                 Duration timeout) {
  const CurlLibrary* c = FL_TRY(curl_library());
  CURL* curl = c->easy_init();
  if (curl == nullptr) return fail("libcurl could not make a handle");
  Reply reply;
  const std::string url = fmt::format("http://localhost/{}{}", kApiVersion, endpoint);
  c->easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, path.c_str());
  c->easy_setopt(curl, CURLOPT_URL, url.c_str());
  c->easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(to_ms(timeout)));
  c->easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  c->easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  c->easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  c->easy_setopt(curl, CURLOPT_USERAGENT, "faultline/" FAULTLINE_VERSION);
  const CURLcode code = c->easy_perform(curl);
  c->easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  c->easy_cleanup(curl);
  if (code == CURLE_COULDNT_CONNECT) return std::optional<Reply>{};
  if (code != CURLE_OK)
    return fail("GET {} on {}: {}", endpoint, path, c->easy_strerror(code));
  if (reply.status != 200)
    return fail("GET {} on {}: HTTP {}: {}", endpoint, path, reply.status,
                reply.body.substr(0, 200));
  return std::optional<Reply>{std::move(reply)};
}

Result<nlohmann::json> parse_json(const std::string& body, const std::string& what) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded()) return fail("{}: the reply is not JSON", what);
  return doc;
}

}  // namespace

std::string engine_socket_path(const std::string& runtime) {
  const char* variable = runtime == "podman" ? "CONTAINER_HOST" : "DOCKER_HOST";
  if (const char* host = std::getenv(variable); host != nullptr) {
    const std::string_view url = host;
    if (url.starts_with("unix://")) return std::string(url.substr(7));
  }
  return runtime == "podman" ? "/run/podman/podman.sock" : "/run/docker.sock";
}

Result<std::vector<Container>> parse_container_list(const std::string& runtime,
                                                    const std::string& body) {
  const nlohmann::json doc = FL_TRY(parse_json(body, "GET /containers/json"));
  if (!doc.is_array()) return fail("GET /containers/json: expected an array");
  std::vector<Container> out;
  for (size_t i = 0; i < doc.size(); ++i) {
    const nlohmann::json& item = doc[i];
    const auto text = [&](const char* key) -> Result<std::string> {
      if (!item.is_object() || !item.contains(key) || !item[key].is_string())
        return fail("GET /containers/json: /{}/{}: expected a string", i, key);
      return item[key].get<std::string>();
    };
    Container c;
    c.runtime = runtime;
    c.id = FL_TRY(text("Id"));
    c.image = FL_TRY(text("Image"));
    if (item.contains("Names") && item["Names"].is_array() && !item["Names"].empty() &&
        item["Names"][0].is_string()) {
      c.name = item["Names"][0].get<std::string>();
      if (c.name.starts_with('/')) c.name.erase(0, 1);
    }
    if (item.contains("Labels") && item["Labels"].is_object())
      for (const auto& [key, value] : item["Labels"].items())
        if (value.is_string()) c.labels[key] = value.get<std::string>();
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::optional<std::vector<Container>>> engine_containers(const std::string& runtime,
                                                                 const std::string& path,
                                                                 Duration timeout) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode))
    return std::optional<std::vector<Container>>{};
  auto listed = FL_TRY(get(path, "/containers/json", timeout));
  if (!listed) return std::optional<std::vector<Container>>{};
  std::vector<Container> containers = FL_TRY(parse_container_list(runtime, listed->body));
  for (Container& c : containers) {
    c.found_by = fmt::format("{} API at {}", runtime, path);
    auto inspected = FL_TRY(get(path, "/containers/" + c.id + "/json", timeout));
    if (!inspected) return fail("{} API at {} stopped answering", runtime, path);
    const nlohmann::json doc =
        FL_TRY(parse_json(inspected->body, "GET /containers/" + c.id + "/json"));
    const auto pid = doc.contains("State") && doc["State"].is_object()
                         ? doc["State"].value("Pid", int64_t{0})
                         : int64_t{0};
    c.init_pid = static_cast<pid_t>(pid);
  }
  return std::optional<std::vector<Container>>{std::move(containers)};
}

}  // namespace faultline

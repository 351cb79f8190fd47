#pragma once
// The HTTP endpoint Prometheus scrapes: GET (or HEAD) /metrics answers with what `render`
// returns; any other path is 404, any other method 405. Civetweb (Debian's libcivetweb) parses
// HTTP and runs the server on threads of its own; destroying the server stops them and waits
// for them.
//
// Not Debian's libcpp-httplib: that library is built with OpenSSL, so linking it would load
// libssl.so.3 and libcrypto.so.3 beside the OpenSSL that faultline-agent links statically
// (cmake/StaticDeps.cmake), with the executable's copy exporting its symbols to them.
#include <functional>
#include <memory>
#include <string>

#include "core/result.h"

struct mg_context;
struct mg_connection;

namespace faultline {

class MetricsServer {
 public:
  using Render = std::function<std::string()>;

  // Listens on `listen` (IP:PORT, as the agent config checked it); an error names the address
  // and why it could not be bound.
  static Result<std::unique_ptr<MetricsServer>> start(const std::string& listen, Render render);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

 private:
  explicit MetricsServer(Render render) : render_(std::move(render)) {}
  static int handle(mg_connection* connection, void* self);

  Render render_;
  mg_context* context_ = nullptr;
};

}  // namespace faultline

#include "agent/daemon/metrics/metrics_server.h"

#include <civetweb.h>
#include <spdlog/spdlog.h>

#include <cstring>

namespace faultline {
namespace {

// Prometheus's text exposition format.
constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";
// Two workers: a scrape never waits behind one slow client, whose request is cut off after the
// timeout, so it cannot hold a worker (or the agent's shutdown) for long.
constexpr const char* kWorkers = "2";
constexpr const char* kRequestTimeoutMs = "5000";

int log_message(const mg_connection*, const char* message) {
  spdlog::warn("event=metrics_http_error error=\"{}\"", message);
  return 1;  // logged here; civetweb writes nothing to stderr
}

}  // namespace

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const std::string& listen,
                                                            Render render) {
  std::unique_ptr<MetricsServer> server(new MetricsServer(std::move(render)));
  // No document_root: civetweb serves no files, and answers 404 for what no handler takes.
  const char* options[] = {"listening_ports",    listen.c_str(),    "num_threads", kWorkers,
                           "request_timeout_ms", kRequestTimeoutMs, nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = log_message;
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = server.get();
  init.configuration_options = options;
  char error_text[256] = {};
  unsigned error_code = 0;
  mg_error_data error{};
  error.code = &error_code;
  error.text = error_text;
  error.text_buffer_size = sizeof error_text;
  server->context_ = mg_start2(&init, &error);
  if (server->context_ == nullptr)
    return fail("cannot serve metrics on {}: {}", listen,
                error_text[0] != '\0' ? error_text : "the HTTP server did not start");
  // "$": /metrics itself, not /metrics/anything.
  mg_set_request_handler(server->context_, "/metrics$", &MetricsServer::handle, server.get());
  return server;
}

MetricsServer::~MetricsServer() {
  if (context_ != nullptr) mg_stop(context_);
}

int MetricsServer::handle(mg_connection* connection, void* self) {
  const mg_request_info* request = mg_get_request_info(connection);
  const bool head = std::strcmp(request->request_method, "HEAD") == 0;
  if (!head && std::strcmp(request->request_method, "GET") != 0) {
    mg_response_header_start(connection, 405);
    mg_response_header_add(connection, "Allow", "GET, HEAD", -1);
    mg_response_header_add(connection, "Content-Length", "0", -1);
    mg_response_header_send(connection);
    return 405;
  }
  std::string body;
  try {
    body = static_cast<MetricsServer*>(self)->render_();
  } catch (const std::exception& e) {
    spdlog::error("event=metrics_failed error=\"{}\"", e.what());
    mg_send_http_error(connection, 500, "the metrics could not be rendered: %s", e.what());
    return 500;
  }
  mg_send_http_ok(connection, kContentType, static_cast<long long>(body.size()));
  if (!head) mg_write(connection, body.data(), body.size());
  return 200;
}

}  // namespace faultline

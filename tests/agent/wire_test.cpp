// The agent's reading of a ProbeRequest (wire::decode): every field checked as a scenario's probe
// would be, each mistake an exact message, and random requests answered with a value or an
// error, never a crash.
#include "agent/wire/wire.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <random>

using namespace faultline;
namespace v1 = faultline::agent::v1;

namespace {

std::string error_of(const v1::ProbeRequest& r) {
  auto spec = wire::decode(r);
  REQUIRE_FALSE(spec);
  return spec.error().message;
}

v1::ProbeRequest http(const std::string& url) {
  v1::ProbeRequest r;
  r.set_name("web");
  r.mutable_http()->set_url(url);
  return r;
}

}  // namespace

TEST_CASE("a probe request reads back as the spec it was encoded from", "[agent-wire]") {
  ProbeSpec spec;
  spec.name = "api";
  spec.type = ProbeType::Http;
  spec.http.url = "http://127.0.0.1:8080/health";
  spec.http.method = "HEAD";
  spec.http.timeout = std::chrono::milliseconds(750);
  spec.expect.status = {200, 204};
  spec.expect.body_matches = "ok|ready";
  spec.expect.max_latency = std::chrono::milliseconds(300);
  auto back = wire::decode(wire::encode(spec));
  REQUIRE(back);
  CHECK(back->name == "api");
  CHECK(back->type == ProbeType::Http);
  CHECK(back->http.url == spec.http.url);
  CHECK(back->http.method == "HEAD");
  CHECK(back->http.timeout == std::chrono::milliseconds(750));
  CHECK(back->expect.status == std::vector<int>{200, 204});
  CHECK(back->expect.body_matches == "ok|ready");
  CHECK(back->expect.max_latency == std::chrono::milliseconds(300));

  // An HTTP probe without expected statuses expects 200; a long name is cut, not refused.
  v1::ProbeRequest plain = http("https://example.test/");
  plain.set_name(std::string(300, 'n'));
  auto p = wire::decode(plain);
  REQUIRE(p);
  CHECK(p->expect.status == std::vector<int>{200});
  CHECK(p->name == std::string(128, 'n'));
}

TEST_CASE("each wrong field of a probe request is named", "[agent-wire]") {
  CHECK(error_of(v1::ProbeRequest{}) ==
        "the probe has no check: give one of http, tcp, command, process");
  CHECK(error_of(http("ftp://example.test/")) ==
        "http.url 'ftp://example.test/' must start with http:// or https://");
  CHECK(error_of(http("http://x/" + std::string(2100, 'a'))) ==
        "http.url is 2109 characters long, more than the 2048 allowed (on agents too); shorten "
        "it to 2048 or fewer");
  v1::ProbeRequest method = http("http://x/");
  method.mutable_http()->set_method("FETCH");
  CHECK(error_of(method) ==
        "http.method 'FETCH' must be one of GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH");
  v1::ProbeRequest slow = http("http://x/");
  slow.mutable_http()->set_timeout_ms(60'001);
  CHECK(error_of(slow) ==
        "http.timeout_ms 60001ms is longer than the 1m a probe may take (on agents too); give 1m "
        "or less");
  v1::ProbeRequest huge = http("http://x/");
  huge.mutable_http()->set_timeout_ms(UINT64_MAX);
  CHECK(error_of(huge) ==
        "http.timeout_ms 18446744073709551615ms is longer than the 1m a probe may take (on agents "
        "too); give 1m or less");

  v1::ProbeRequest tcp;
  tcp.mutable_tcp()->set_host("db");
  tcp.mutable_tcp()->set_port(0);
  CHECK(error_of(tcp) == "tcp.port 0 is not 1 to 65535");
  tcp.mutable_tcp()->set_port(65536);
  CHECK(error_of(tcp) == "tcp.port 65536 is not 1 to 65535");
  tcp.mutable_tcp()->set_port(5432);
  tcp.mutable_tcp()->set_host("");
  CHECK(error_of(tcp) == "tcp.host is empty");
  tcp.mutable_tcp()->set_host(std::string(256, 'h'));
  CHECK(error_of(tcp) ==
        "tcp.host is 256 characters long, more than the 255 allowed (on agents too); shorten it "
        "to 255 or fewer");

  v1::ProbeRequest command;
  command.mutable_command();
  CHECK(error_of(command) == "command.run is empty");
  command.mutable_command()->set_run(std::string(4097, 'x'));
  CHECK(error_of(command) ==
        "command.run is 4097 characters long, more than the 4096 allowed (on agents too); "
        "shorten it to 4096 or fewer");
  command.mutable_command()->set_run("true");
  command.mutable_command()->set_timeout_ms(120'000);
  CHECK(error_of(command) ==
        "command.timeout_ms 120000ms is longer than the 1m a probe may take (on agents too); "
        "give 1m or less");

  v1::ProbeRequest process;
  process.mutable_process();
  CHECK(error_of(process) == "process.selector selects nothing");
  process.mutable_process()->mutable_selector()->set_cmdline("worker(");
  CHECK(error_of(process) ==
        "process.selector.cmdline is not a valid regular expression: missing ): worker(");
  process.mutable_process()->mutable_selector()->set_cmdline(std::string(1025, 'a'));
  CHECK(error_of(process) ==
        "process.selector.cmdline is 1025 characters long, more than the 1024 allowed (on agents "
        "too); shorten it to 1024 or fewer");
  process.mutable_process()->mutable_selector()->clear_cmdline();
  process.mutable_process()->mutable_selector()->set_name(std::string(256, 'n'));
  CHECK(error_of(process) ==
        "process.selector.name is 256 characters long, more than the 255 allowed (on agents "
        "too); shorten it to 255 or fewer");

  v1::ProbeRequest status = http("http://x/");
  status.mutable_expect()->add_status(200);
  status.mutable_expect()->add_status(99);
  CHECK(error_of(status) == "expect.status 99 is not an HTTP status (100 to 599)");
  v1::ProbeRequest negative = http("http://x/");
  negative.mutable_expect()->add_status(-200);
  CHECK(error_of(negative) == "expect.status -200 is not an HTTP status (100 to 599)");
  v1::ProbeRequest body = http("http://x/");
  body.mutable_expect()->set_body_matches("[a-");
  CHECK(error_of(body).starts_with("expect.body_matches is not a valid regular expression: "));
  v1::ProbeRequest out = http("http://x/");
  out.mutable_expect()->set_stdout_matches("*");
  CHECK(error_of(out).starts_with("expect.stdout_matches is not a valid regular expression: "));
  v1::ProbeRequest latency = http("http://x/");
  latency.mutable_expect()->set_max_latency_ms(60'001);
  CHECK(error_of(latency) ==
        "expect.max_latency_ms 60001ms is longer than the 1m a probe may take (on agents too); "
        "give 1m or less");
}

TEST_CASE("random probe requests decode to a value or an error, never a crash",
          "[agent-wire][fuzz]") {
  const uint64_t seed = 0x5eed'0001;
  std::printf("wire::decode fuzz seed: %llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  auto pick = [&](std::initializer_list<std::string> options) {
    std::uniform_int_distribution<size_t> d(0, options.size() - 1);
    return *(options.begin() + static_cast<std::ptrdiff_t>(d(rng)));
  };
  auto bytes = [&](size_t max) {
    std::uniform_int_distribution<size_t> len(0, max);
    std::uniform_int_distribution<int> byte(0, 255);
    std::string s(len(rng), '\0');
    for (char& c : s) c = static_cast<char>(byte(rng));
    return s;
  };
  auto text = [&] {
    switch (rng() % 8) {
      case 0:
        return std::string();
      case 1:
        return bytes(64);
      case 2:
        return std::string(rng() % 5000, 'a');
      case 3:
        return pick({"(a+)+$", "(", "[", "*", "a{99999999}", "\\", "(?=x)", "[z-a]",
                     "((((((((((x))))))))))", "(a|aa)*b", "x{2,1}", ".*"});
      case 4:
        return pick({"http://127.0.0.1:1/", "https://", "http://", "HTTP://x", "gopher://x",
                     "http://[::1]:99999/", "http://%zz/", "http://\xc3\x28"});
      case 5:
        return pick({"GET", "get", "HEAD", "", "DELETE ", "\xff"});
      case 6:
        return std::string(1, static_cast<char>(rng() % 256));
      default:
        return std::to_string(static_cast<int64_t>(rng()));
    }
  };
  auto number = [&]() -> uint64_t {
    switch (rng() % 4) {
      case 0:
        return 0;
      case 1:
        return rng() % 70'000;
      case 2:
        return UINT64_MAX - rng() % 3;
      default:
        return rng();
    }
  };
  size_t accepted = 0;
  for (int i = 0; i < 20'000; ++i) {
    v1::ProbeRequest r;
    if (rng() % 2) r.set_name(text());
    switch (rng() % 5) {
      case 0: {
        auto* h = r.mutable_http();
        h->set_url(text());
        if (rng() % 2) h->set_url("http://127.0.0.1/" + text());
        h->set_method(text());
        h->set_timeout_ms(number());
        break;
      }
      case 1: {
        auto* t = r.mutable_tcp();
        t->set_host(text());
        t->set_port(static_cast<uint32_t>(number()));
        t->set_timeout_ms(number());
        break;
      }
      case 2: {
        auto* c = r.mutable_command();
        c->set_run(text());
        c->set_timeout_ms(number());
        break;
      }
      case 3: {
        auto* s = r.mutable_process()->mutable_selector();
        if (rng() % 2) s->set_name(text());
        if (rng() % 2) s->set_cmdline(text());
        if (rng() % 3 == 0) s->set_pidfile(text());
        if (rng() % 3 == 0) s->set_cgroup(text());
        break;
      }
      default:
        break;  // no check at all
    }
    if (rng() % 2) {
      auto* x = r.mutable_expect();
      for (uint64_t n = rng() % 4; n > 0; --n) x->add_status(static_cast<int32_t>(number()));
      if (rng() % 3 == 0) x->set_body_matches(text());
      if (rng() % 3 == 0) x->set_stdout_matches(text());
      if (rng() % 3 == 0) x->set_max_latency_ms(number());
      if (rng() % 3 == 0) x->set_exit_code(static_cast<int32_t>(number()));
      if (rng() % 3 == 0) x->set_min_count(static_cast<int64_t>(number()));
      if (rng() % 3 == 0) x->set_max_count(static_cast<int64_t>(number()));
    }
    auto spec = wire::decode(r);
    if (spec) {
      ++accepted;
      // What is accepted is within the limits the agent promises.
      CHECK(spec->name.size() <= 128);
      if (spec->type == ProbeType::Http) {
        CHECK(spec->http.timeout <= std::chrono::seconds(60));
        CHECK(spec->http.url.size() <= 2048);
      }
      if (spec->type == ProbeType::Tcp) {
        CHECK(spec->tcp.port >= 1);
        CHECK(spec->tcp.port <= 65535);
      }
      for (int s : spec->expect.status) {
        CHECK(s >= 100);
        CHECK(s <= 599);
      }
    } else {
      CHECK_FALSE(spec.error().message.empty());
    }
  }
  std::printf("wire::decode fuzz: %zu of 20000 accepted\n", accepted);
  CHECK(accepted > 0);
}

namespace {

// What the agent reads from the bytes the controller sends: the request serialised and parsed
// again, as gRPC does.
Result<wire::ContainerTargets> sent_and_read(const wire::ContainerTargets& targets) {
  v1::ApplyRequest request;
  wire::encode(targets, request);
  v1::ApplyRequest received;
  REQUIRE(received.ParseFromString(request.SerializeAsString()));
  return wire::decode_container_targets(received);
}

}  // namespace

TEST_CASE("an Apply request's containers read back as they were sent", "[agent-wire]") {
  ContainerSelector web;
  web.runtime = "docker";
  web.name = "checkout-*";
  web.id = "3f2a9c";
  web.image = "registry.local/checkout:1.4";
  web.labels = {{"app", "checkout"}, {"tier", "web"}};
  web.count = Count{.mode = Count::Mode::Share, .share = Percent{2550}};
  ContainerSelector kept;
  kept.name = "etcd-*";
  ContainerSelector vault;
  vault.runtime = "podman";
  vault.image = "registry.local/vault";
  vault.labels = {{"io.kubernetes.pod.namespace", "kube-system"}};
  auto back = sent_and_read(
      {.containers = web, .max_containers = 3, .protected_containers = {kept, vault}});
  REQUIRE(back);
  REQUIRE(back->containers.has_value());
  const ContainerSelector& c = *back->containers;
  CHECK(c.runtime == "docker");
  CHECK(c.name == "checkout-*");
  CHECK(c.id == "3f2a9c");
  CHECK(c.image == "registry.local/checkout:1.4");
  CHECK(c.labels == std::map<std::string, std::string>{{"app", "checkout"}, {"tier", "web"}});
  CHECK_FALSE(c.pod_namespace.has_value());
  CHECK_FALSE(c.pod_name.has_value());
  CHECK_FALSE(c.pod_container.has_value());
  CHECK(c.count.mode == Count::Mode::Share);
  CHECK(c.count.share.basis_points == 2550);
  CHECK(c.count.text() == "25.5%");
  CHECK(back->max_containers == 3);
  REQUIRE(back->protected_containers.size() == 2);
  CHECK(back->protected_containers[0].runtime == "auto");
  CHECK(back->protected_containers[0].name == "etcd-*");
  CHECK_FALSE(back->protected_containers[0].id.has_value());
  CHECK(back->protected_containers[1].runtime == "podman");
  CHECK(back->protected_containers[1].image == "registry.local/vault");
  CHECK(back->protected_containers[1].labels ==
        std::map<std::string, std::string>{{"io.kubernetes.pod.namespace", "kube-system"}});
}

TEST_CASE("a pod selector and each kind of count cross the wire", "[agent-wire]") {
  ContainerSelector pods;
  pods.runtime = "cri-o";
  pods.pod_namespace = "shop";
  pods.pod_name = "checkout-*";
  pods.pod_container = "app";
  pods.count = Count{.mode = Count::Mode::Number, .number = 2};
  auto back = sent_and_read({.containers = pods, .max_containers = 100000});
  REQUIRE(back);
  REQUIRE(back->containers.has_value());
  CHECK(back->containers->runtime == "cri-o");
  CHECK(back->containers->pod_namespace == "shop");
  CHECK(back->containers->pod_name == "checkout-*");
  CHECK(back->containers->pod_container == "app");
  CHECK_FALSE(back->containers->name.has_value());
  CHECK(back->containers->count.mode == Count::Mode::Number);
  CHECK(back->containers->count.number == 2);
  CHECK(back->max_containers == 100000);
  CHECK(back->protected_containers.empty());

  ContainerSelector all;
  all.name = "web";
  auto every = sent_and_read({.containers = all, .max_containers = 1});
  REQUIRE(every);
  CHECK(every->containers->count.mode == Count::Mode::All);

  // No containers: nothing set, nothing read back.
  auto none = sent_and_read({});
  REQUIRE(none);
  CHECK_FALSE(none->containers.has_value());
  CHECK(none->max_containers == 0);
}

TEST_CASE("a container count the agent cannot read is named", "[agent-wire]") {
  const auto error_of = [](const std::string& count) {
    v1::ApplyRequest request;
    request.mutable_containers()->set_name("web");
    request.mutable_containers()->set_count(count);
    auto read = wire::decode_container_targets(request);
    REQUIRE_FALSE(read);
    return read.error().message;
  };
  CHECK(error_of("0") ==
        "containers.count must be a number from 1 to 100000, 'all' or a share "
        "such as 50% (got '0')");
  CHECK(error_of("100001") ==
        "containers.count must be a number from 1 to 100000, 'all' or a "
        "share such as 50% (got '100001')");
  CHECK(error_of("150%") ==
        "containers.count must be a number, 'all' or a share from 0.01% to "
        "100% (got '150%')");
  // An empty count is "all", as a scenario without count or percent.
  v1::ApplyRequest request;
  request.mutable_containers()->set_name("web");
  auto read = wire::decode_container_targets(request);
  REQUIRE(read);
  CHECK(read->containers->count.mode == Count::Mode::All);
}

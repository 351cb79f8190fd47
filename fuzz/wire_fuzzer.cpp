// libFuzzer target: what the agent decodes from the network, from serialized protobuf bytes.
// The first byte picks the message; the rest is its wire encoding:
//   0  ProbeRequest  -> wire::decode (every field checked as a scenario's probe)
//   1  ApplyRequest  -> the selector and the containers decoded, the params parsed against the
//                       kind's specs, and a cmdline regex compiled, as the agent's
//                       build_request does (nothing is applied)
//   2  FaultStatus   -> wire::decode (what the controller reads from an agent)
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "agent/wire/wire.h"
#include "injectors/injector.h"
#include "injectors/process/selector.h"

namespace v1 = faultline::wire::v1;

namespace {

void apply_request(const v1::ApplyRequest& request) {
  if (auto containers = faultline::wire::decode_container_targets(request); containers)
    if (containers->containers) (void)containers->containers->describe();
  const faultline::ProcessSelector selector = faultline::wire::decode(request.selector());
  if (selector.cmdline) (void)faultline::ProcessMatcher::compile(selector);
  const faultline::InjectorDescriptor* d = faultline::find_injector(request.kind());
  if (d == nullptr || request.params_size() > 64) return;
  std::vector<faultline::RawParam> raw;
  const faultline::SourceLocation at{"fault"};
  for (const auto& [k, v] : request.params()) raw.push_back({k, v, at, at});
  faultline::ParsedParams parsed = faultline::parse_params(d->params, raw, at, request.kind());
  if (parsed.errors.empty()) {
    (void)parsed.params.describe();
    (void)parsed.params.to_json();
  }
}

}  // namespace

// Protobuf logs every string field that is not UTF-8; that is expected input here, not news.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > static_cast<size_t>(faultline::wire::kMaxMessageBytes)) return 0;
  const int body_size = static_cast<int>(size - 1);
  switch (data[0] % 3) {
    case 0: {
      v1::ProbeRequest m;
      if (m.ParseFromArray(data + 1, body_size)) {
        auto spec = faultline::wire::decode(m);
        // What was accepted encodes again and decodes to an accepted probe.
        if (spec && !faultline::wire::decode(faultline::wire::encode(*spec))) __builtin_trap();
      }
      break;
    }
    case 1: {
      v1::ApplyRequest m;
      if (m.ParseFromArray(data + 1, body_size)) apply_request(m);
      break;
    }
    case 2: {
      v1::FaultStatus m;
      if (m.ParseFromArray(data + 1, body_size))
        (void)faultline::wire::encode(faultline::wire::decode(m));
      break;
    }
  }
  return 0;
}

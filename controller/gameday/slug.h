#pragma once
// Names made from what users write, safe as one path component.
#include <string>
#include <string_view>

namespace faultline {

// Lower-case ASCII letters and digits kept, every other run of characters one '-', none at
// either end: "Web Latency (p99).yaml" -> "web-latency-p99-yaml"; "" or "--" -> `fallback`.
std::string slug(std::string_view text, std::string_view fallback);

}  // namespace faultline

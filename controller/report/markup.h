#pragma once
// Escaping text for the markup formats the reports write.
#include <string>
#include <string_view>

namespace faultline {

// For XML and HTML text and attribute values: & < > " ' escaped, and characters XML 1.0 cannot
// hold (control characters other than tab and newline, invalid UTF-8) replaced with U+FFFD.
std::string escape_xml(std::string_view text);

// For a Markdown table cell: | and newlines would end the cell; backticks and * and _ would
// start formatting.
std::string escape_markdown_cell(std::string_view text);

// Lower-case ASCII letters and digits kept, every other run of characters one '-', none at
// either end: "Web Latency (p99).yaml" -> "web-latency-p99-yaml", for ids, class names and
// path components; "" or "--" -> `fallback`.
std::string slug(std::string_view text, std::string_view fallback = "scenario");

}  // namespace faultline

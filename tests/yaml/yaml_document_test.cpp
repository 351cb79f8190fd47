// The YAML document model that every reader stands on: kinds, nulls, aliases, iteration, and
// the errors that libyaml's events alone would let through (a second document, a dangling or
// endless alias).
#include "yaml/yaml_document.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace faultline::yaml {
namespace {

std::unique_ptr<Document> parse_ok(std::string_view text) {
  auto parsed = Document::parse(text);
  if (auto* e = std::get_if<SyntaxError>(&parsed)) FAIL("syntax error: " << e->problem);
  return std::move(std::get<std::unique_ptr<Document>>(parsed));
}

SyntaxError parse_bad(std::string_view text) {
  auto parsed = Document::parse(text);
  REQUIRE(std::holds_alternative<SyntaxError>(parsed));
  return std::get<SyntaxError>(parsed);
}

TEST_CASE("yaml: plain ~, null and nothing are null, and quoted they are text", "[yaml]") {
  const auto doc = parse_ok("a: ~\nb: null\nc:\nd: 'null'\ne: \"\"\nf: NULL\ng: nulls\n");
  const Node root = doc->root();
  REQUIRE(root.is_map());
  CHECK(root.size() == 7);
  for (const char* k : {"a", "b", "c", "f"}) {
    INFO(k);
    CHECK(root[k].is_null());
    CHECK(root[k].scalar().empty());
  }
  CHECK(root["d"].is_scalar());
  CHECK(root["d"].scalar() == "null");
  CHECK(root["d"].quoted());
  CHECK(root["e"].is_scalar());
  CHECK(root["e"].scalar().empty());
  CHECK(root["g"].scalar() == "nulls");
  CHECK_FALSE(root["g"].quoted());
  CHECK_FALSE(root["missing"].defined());
  CHECK(root["missing"].kind() == Kind::undefined);
  CHECK_FALSE(root["a"]["below a null"].defined());
}

TEST_CASE("yaml: a map iterates its entries in order, a list its items", "[yaml]") {
  const auto doc = parse_ok("m: {z: 1, a: 2, z: 3}\nl:\n  - x\n  - [y]\n  - {k: v}\n");
  std::vector<std::string> keys;
  std::vector<std::string> values;
  for (auto it = doc->root()["m"].begin(); it != doc->root()["m"].end(); ++it) {
    keys.push_back(it->first.scalar());
    values.push_back(it->second.scalar());
  }
  CHECK(keys == std::vector<std::string>{"z", "a", "z"});
  CHECK(values == std::vector<std::string>{"1", "2", "3"});
  CHECK(doc->root()["m"]["z"].scalar() == "1");  // the first of two equal keys
  std::vector<Kind> kinds;
  for (const Node& item : doc->root()["l"]) kinds.push_back(item.kind());
  CHECK(kinds == std::vector<Kind>{Kind::scalar, Kind::sequence, Kind::map});
  CHECK(doc->root()["l"].size() == 3);
  // A scalar iterates nothing.
  CHECK(doc->root()["m"]["a"].begin() == doc->root()["m"]["a"].end());
}

TEST_CASE("yaml: marks are 0-based line, column and offset of where a node starts", "[yaml]") {
  const auto doc = parse_ok("version: 1\nfaults:\n  - name: x\n");
  const Mark m = doc->root()["faults"].begin()->operator[]("name").mark();
  CHECK(m.line == 2);
  CHECK(m.column == 10);
  CHECK(m.pos == 29);  // 11 + 8 + 10
}

TEST_CASE("yaml: an alias is its anchor's node, not a copy", "[yaml]") {
  const auto doc = parse_ok("base: &b {load: 50%}\none: *b\ntwo: *b\n");
  const Node root = doc->root();
  CHECK(root["one"].is(root["base"]));
  CHECK(root["two"].is(root["base"]));
  CHECK(root["two"]["load"].scalar() == "50%");
  CHECK_FALSE(root["one"].is(root["base"]["load"]));
}

TEST_CASE("yaml: an empty text or one of comments is a null root", "[yaml]") {
  CHECK(parse_ok("")->root().is_null());
  CHECK(parse_ok("# nothing\n\n")->root().is_null());
  CHECK(parse_ok("---\n...\n")->root().is_null());
}

TEST_CASE("yaml: what is refused, and where", "[yaml]") {
  SECTION("a second document") {
    const SyntaxError e = parse_bad("a: 1\n---\nb: 2\n");
    CHECK(e.problem ==
          "a second document starts here; a file holds one document, so remove this '---' or "
          "move what follows into a file of its own");
    CHECK(e.at.line == 1);
  }
  SECTION("an alias to no anchor") {
    const SyntaxError e = parse_bad("a: 1\nb: *nope\n");
    CHECK(e.problem == "alias '*nope' names no anchor; define '&nope' before it, or write the "
                       "value out");
    CHECK(e.at.line == 1);
    CHECK(e.at.column == 3);
  }
  SECTION("an alias inside the value it names") {
    const SyntaxError e = parse_bad("a: &x {b: *x}\n");
    CHECK(e.problem == "alias '*x' is inside the value it names, which would make that value "
                       "endless; write the value out instead");
    CHECK(e.at.column == 10);
  }
  SECTION("a quote never closed: libyaml's context names where it started") {
    const SyntaxError e = parse_bad("a: 1\nb: \"open\nc: 2\n");
    CHECK(e.problem == "found unexpected end of stream");
    CHECK(e.context == "while scanning a quoted scalar");
    CHECK(e.context_at.line == 1);
    CHECK(e.context_at.column == 3);
  }
  SECTION("bytes that are not UTF-8, placed by their offset") {
    const SyntaxError e = parse_bad("a: 1\nb: \xff\xfe\n");
    CHECK(e.problem == "invalid leading UTF-8 octet");
    CHECK(e.at.line == 1);
    CHECK(e.at.column == 3);
  }
}

TEST_CASE("yaml: nesting 100,000 deep is read without recursion", "[yaml]") {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const auto doc = parse_ok(deep);
  Node n = doc->root();
  int depth = 0;
  while (n.is_sequence() && n.size() == 1) {
    n = *n.begin();
    ++depth;
  }
  CHECK(depth == 99999);
  CHECK(n.is_sequence());
  CHECK(n.size() == 0);
}

}  // namespace
}  // namespace faultline::yaml

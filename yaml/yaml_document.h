#pragma once
// A YAML document read with libyaml into one flat, immutable tree. yaml-cpp was 90% of the
// 3.5 s `faultline validate` spent on a 6 MB scenario (perf), 2.2 s of it to build its node
// graph; libyaml's events for the same file take 0.3 s. Nodes are small handles into the document,
// which must outlive them. The shape of the API follows yaml-cpp's, which the readers were
// written against: a node for an absent key is undefined (false), a map is iterated as pairs
// (`it->first`, `it->second`), a list as nodes.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace faultline::yaml {

enum class Kind : uint8_t { undefined, null, scalar, sequence, map };

// Where a node starts in the text, 0-based as libyaml counts: byte offset, line, column.
struct Mark {
  size_t pos = 0;
  int line = 0;
  int column = 0;
};

struct NodeData {
  Kind kind = Kind::null;
  bool quoted = false;  // a scalar written in quotes or as a block (|, >), never null
  Mark mark;
  std::string scalar;
  // The children, in Document::links_: a list's items, or a map's keys and values in turns.
  uint32_t first_link = 0;
  uint32_t link_count = 0;
};

class Document;

class Node {
 public:
  Node() = default;  // undefined: what an absent key reads as

  bool defined() const { return doc_ != nullptr; }
  explicit operator bool() const { return defined(); }
  Kind kind() const { return doc_ ? data().kind : Kind::undefined; }
  bool is_null() const { return kind() == Kind::null; }
  bool is_scalar() const { return kind() == Kind::scalar; }
  bool is_sequence() const { return kind() == Kind::sequence; }
  bool is_map() const { return kind() == Kind::map; }

  // The text of a scalar; empty for anything else.
  const std::string& scalar() const;
  // Whether the scalar was written in quotes (or as a block scalar).
  bool quoted() const { return doc_ && data().quoted; }
  Mark mark() const { return doc_ ? data().mark : Mark{}; }
  // Items of a list, entries of a map, 0 for anything else.
  size_t size() const;

  // The value of the first entry whose key is the scalar `key`; undefined when there is none
  // or this is not a map.
  Node operator[](std::string_view key) const;

  // Whether both handles name the same node (an alias names its anchor's node).
  bool is(const Node& other) const { return doc_ == other.doc_ && index_ == other.index_; }

  // A list iterates its items; a map its entries, as `first` (key) and `second` (value).
  struct Item;
  class iterator;
  iterator begin() const;
  iterator end() const;

 private:
  friend class Document;
  Node(const Document* doc, uint32_t index) : doc_(doc), index_(index) {}
  const NodeData& data() const;
  Node link(uint32_t i) const;

  const Document* doc_ = nullptr;
  uint32_t index_ = 0;
};

struct Node::Item : Node {
  Node first;
  Node second;
};

class Node::iterator {
 public:
  using value_type = Item;
  using difference_type = std::ptrdiff_t;
  const Item& operator*() const { return item_; }
  const Item* operator->() const { return &item_; }
  iterator& operator++();
  bool operator==(const iterator& other) const { return at_ == other.at_; }

 private:
  friend class Node;
  iterator(Node parent, uint32_t at);
  void load();

  Node parent_;
  uint32_t at_ = 0;  // index into the parent's links
  Item item_;
};

// Why a text is not one YAML document: where, and libyaml's description of the problem.
struct SyntaxError {
  Mark at;
  std::string problem;  // libyaml's words, e.g. "mapping values are not allowed in this context"
  std::string context;  // what it was reading, e.g. "while scanning a quoted scalar"; may be empty
  Mark context_at;      // where that started
};

class Document {
 public:
  // The first document of `text`. An empty text (or one of only comments) gives a document
  // whose root is null. A second document is an error, as is an alias to no anchor.
  static std::variant<std::unique_ptr<Document>, SyntaxError> parse(std::string_view text);

  Node root() const { return Node(this, 0); }

 private:
  friend class Node;
  std::vector<NodeData> nodes_;
  std::vector<uint32_t> links_;
};

}  // namespace faultline::yaml

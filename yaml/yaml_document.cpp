#include "yaml/yaml_document.h"

#include <yaml.h>

#include <map>

#include "core/defer.h"

namespace faultline::yaml {
namespace {

const std::string kNoText;

Mark mark_of(const yaml_mark_t& m) {
  return {m.index, static_cast<int>(m.line), static_cast<int>(m.column)};
}

// The place of a byte offset, for libyaml's reader errors (bad UTF-8), which carry only that.
Mark mark_at_offset(std::string_view text, size_t offset) {
  Mark m{offset, 0, 0};
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++m.line;
      m.column = 0;
    } else {
      ++m.column;
    }
  }
  return m;
}

// YAML 1.1 and 1.2's core schema: a plain scalar that reads as null.
bool plain_null(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

std::string text_of(const yaml_char_t* s) {
  return s ? std::string(reinterpret_cast<const char*>(s)) : std::string();
}

}  // namespace

const NodeData& Node::data() const { return doc_->nodes_[index_]; }

Node Node::link(uint32_t i) const { return Node(doc_, doc_->links_[data().first_link + i]); }

const std::string& Node::scalar() const {
  return kind() == Kind::scalar ? data().scalar : kNoText;
}

size_t Node::size() const {
  switch (kind()) {
    case Kind::sequence:
      return data().link_count;
    case Kind::map:
      return data().link_count / 2;
    default:
      return 0;
  }
}

Node Node::operator[](std::string_view key) const {
  if (!is_map()) return {};
  const uint32_t n = data().link_count;
  for (uint32_t i = 0; i + 1 < n; i += 2) {
    const Node k = link(i);
    if (k.is_scalar() && k.scalar() == key) return link(i + 1);
  }
  return {};
}

Node::iterator Node::begin() const { return iterator(*this, 0); }

Node::iterator Node::end() const {
  const bool collection = is_sequence() || is_map();
  return iterator(*this, collection ? data().link_count : 0);
}

Node::iterator::iterator(Node parent, uint32_t at) : parent_(parent), at_(at) { load(); }

Node::iterator& Node::iterator::operator++() {
  at_ += parent_.is_map() ? 2 : 1;
  load();
  return *this;
}

void Node::iterator::load() {
  const bool collection = parent_.is_sequence() || parent_.is_map();
  if (!collection || at_ >= parent_.data().link_count) {
    item_ = {};
    return;
  }
  if (parent_.is_map()) {
    item_.first = parent_.link(at_);
    item_.second = parent_.link(at_ + 1);
  } else {
    static_cast<Node&>(item_) = parent_.link(at_);
  }
}

std::variant<std::unique_ptr<Document>, SyntaxError> Document::parse(std::string_view text) {
  auto doc = std::make_unique<Document>();
  yaml_parser_t parser;
  yaml_parser_initialize(&parser);
  const Defer delete_parser([&] { yaml_parser_delete(&parser); });
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());

  auto syntax_error = [&]() -> SyntaxError {
    SyntaxError e;
    e.problem = parser.problem ? parser.problem : "the text could not be read as YAML";
    if (parser.error == YAML_READER_ERROR) {
      e.at = mark_at_offset(text, parser.problem_offset);
    } else {
      e.at = mark_of(parser.problem_mark);
      if (parser.context) {
        e.context = parser.context;
        e.context_at = mark_of(parser.context_mark);
      }
    }
    return e;
  };

  // Open collections, innermost last, each with the children read so far.
  struct Open {
    uint32_t index;
    std::vector<uint32_t> children;
  };
  std::vector<Open> open;
  std::map<std::string, uint32_t, std::less<>> anchors;
  int documents = 0;

  // The root is node 0: the first node of the document is created first.
  auto add = [&](uint32_t index) {
    if (!open.empty()) open.back().children.push_back(index);
  };
  auto new_node = [&](Kind kind, const yaml_mark_t& at, const yaml_char_t* anchor) {
    const auto index = static_cast<uint32_t>(doc->nodes_.size());
    NodeData d;
    d.kind = kind;
    d.mark = mark_of(at);
    doc->nodes_.push_back(std::move(d));
    if (anchor) anchors[text_of(anchor)] = index;  // a later anchor of one name wins, as in YAML
    return index;
  };

  for (;;) {
    yaml_event_t event;
    if (!yaml_parser_parse(&parser, &event)) return syntax_error();
    const Defer delete_event([&] { yaml_event_delete(&event); });
    switch (event.type) {
      case YAML_STREAM_END_EVENT:
        if (doc->nodes_.empty()) new_node(Kind::null, event.start_mark, nullptr);
        return doc;
      case YAML_DOCUMENT_START_EVENT:
        if (++documents > 1)
          return SyntaxError{mark_of(event.start_mark),
                             "a second document starts here; a file holds one document, so "
                             "remove this '---' or move what follows into a file of its own",
                             "", {}};
        break;
      case YAML_SCALAR_EVENT: {
        const std::string value(reinterpret_cast<const char*>(event.data.scalar.value),
                                event.data.scalar.length);
        const bool quoted = event.data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
        const Kind kind = !quoted && plain_null(value) ? Kind::null : Kind::scalar;
        const uint32_t index = new_node(kind, event.start_mark, event.data.scalar.anchor);
        doc->nodes_[index].quoted = quoted;
        if (kind == Kind::scalar) doc->nodes_[index].scalar = value;
        add(index);
        break;
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        const Kind kind = event.type == YAML_MAPPING_START_EVENT ? Kind::map : Kind::sequence;
        const yaml_char_t* anchor = kind == Kind::map ? event.data.mapping_start.anchor
                                                      : event.data.sequence_start.anchor;
        open.push_back({new_node(kind, event.start_mark, anchor), {}});
        break;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: {
        Open done = std::move(open.back());
        open.pop_back();
        NodeData& d = doc->nodes_[done.index];
        d.first_link = static_cast<uint32_t>(doc->links_.size());
        d.link_count = static_cast<uint32_t>(done.children.size());
        doc->links_.insert(doc->links_.end(), done.children.begin(), done.children.end());
        add(done.index);
        break;
      }
      case YAML_ALIAS_EVENT: {
        const std::string name = text_of(event.data.alias.anchor);
        const auto it = anchors.find(name);
        if (it == anchors.end())
          return SyntaxError{mark_of(event.start_mark),
                             "alias '*" + name + "' names no anchor; define '&" + name +
                                 "' before it, or write the value out",
                             "", {}};
        for (const Open& o : open)
          if (o.index == it->second)
            return SyntaxError{mark_of(event.start_mark),
                               "alias '*" + name + "' is inside the value it names, which "
                               "would make that value endless; write the value out instead",
                               "", {}};
        add(it->second);
        break;
      }
      default:  // stream start, document end
        break;
    }
  }
}

}  // namespace faultline::yaml

#include "injectors/dns/dns_message.h"

// The umbrella header: ldns's own headers are not self-contained.
#include <ldns/ldns.h>

#include <cstdlib>
#include <memory>

#include "core/loaded_library.h"

namespace faultline {
namespace {

struct LdnsLibrary {
  decltype(&ldns_wire2pkt) wire2pkt;
  decltype(&ldns_pkt2wire) pkt2wire;
  decltype(&ldns_pkt_new) pkt_new;
  decltype(&ldns_pkt_free) pkt_free;
  decltype(&ldns_pkt_query_new) pkt_query_new;
  decltype(&ldns_pkt_id) pkt_id;
  decltype(&ldns_pkt_set_id) pkt_set_id;
  decltype(&ldns_pkt_qr) pkt_qr;
  decltype(&ldns_pkt_set_qr) pkt_set_qr;
  decltype(&ldns_pkt_get_opcode) pkt_get_opcode;
  decltype(&ldns_pkt_set_opcode) pkt_set_opcode;
  decltype(&ldns_pkt_rd) pkt_rd;
  decltype(&ldns_pkt_set_rd) pkt_set_rd;
  decltype(&ldns_pkt_cd) pkt_cd;
  decltype(&ldns_pkt_set_cd) pkt_set_cd;
  decltype(&ldns_pkt_set_ra) pkt_set_ra;
  decltype(&ldns_pkt_tc) pkt_tc;
  decltype(&ldns_pkt_get_rcode) pkt_get_rcode;
  decltype(&ldns_pkt_set_rcode) pkt_set_rcode;
  decltype(&ldns_pkt_question) pkt_question;
  decltype(&ldns_pkt_answer) pkt_answer;
  decltype(&ldns_pkt_push_rr) pkt_push_rr;
  decltype(&ldns_rr_list_rr_count) rr_list_rr_count;
  decltype(&ldns_rr_list_rr) rr_list_rr;
  decltype(&ldns_rr_new) rr_new;
  decltype(&ldns_rr_free) rr_free;
  decltype(&ldns_rr_clone) rr_clone;
  decltype(&ldns_rr_owner) rr_owner;
  decltype(&ldns_rr_get_type) rr_get_type;
  decltype(&ldns_rr_set_owner) rr_set_owner;
  decltype(&ldns_rr_set_type) rr_set_type;
  decltype(&ldns_rr_set_class) rr_set_class;
  decltype(&ldns_rr_set_ttl) rr_set_ttl;
  decltype(&ldns_rr_push_rdf) rr_push_rdf;
  decltype(&ldns_rr_rd_count) rr_rd_count;
  decltype(&ldns_rr_rdf) rr_rdf;
  decltype(&ldns_rdf_new_frm_str) rdf_new_frm_str;
  decltype(&ldns_rdf_clone) rdf_clone;
  decltype(&ldns_rdf_deep_free) rdf_deep_free;
  decltype(&ldns_rdf2str) rdf2str;
  decltype(&ldns_dname_new_frm_str) dname_new_frm_str;
  decltype(&ldns_get_errorstr_by_id) errorstr;
};

#define FL_BIND(field, symbol) bind_function(handle, #symbol, l.field)

Result<LdnsLibrary> load_ldns() {
  void* handle = FL_TRY(open_library(
      "libldns.so.3", "dns faults need libldns to read and write DNS messages", "libldns3"));
  LdnsLibrary l{};
  const bool ok =
      FL_BIND(wire2pkt, ldns_wire2pkt) && FL_BIND(pkt2wire, ldns_pkt2wire) &&
      FL_BIND(pkt_new, ldns_pkt_new) && FL_BIND(pkt_free, ldns_pkt_free) &&
      FL_BIND(pkt_query_new, ldns_pkt_query_new) && FL_BIND(pkt_id, ldns_pkt_id) &&
      FL_BIND(pkt_set_id, ldns_pkt_set_id) && FL_BIND(pkt_qr, ldns_pkt_qr) &&
      FL_BIND(pkt_set_qr, ldns_pkt_set_qr) && FL_BIND(pkt_get_opcode, ldns_pkt_get_opcode) &&
      FL_BIND(pkt_set_opcode, ldns_pkt_set_opcode) && FL_BIND(pkt_rd, ldns_pkt_rd) &&
      FL_BIND(pkt_set_rd, ldns_pkt_set_rd) && FL_BIND(pkt_cd, ldns_pkt_cd) &&
      FL_BIND(pkt_set_cd, ldns_pkt_set_cd) && FL_BIND(pkt_set_ra, ldns_pkt_set_ra) &&
      FL_BIND(pkt_tc, ldns_pkt_tc) && FL_BIND(pkt_get_rcode, ldns_pkt_get_rcode) &&
      FL_BIND(pkt_set_rcode, ldns_pkt_set_rcode) && FL_BIND(pkt_question, ldns_pkt_question) &&
      FL_BIND(pkt_answer, ldns_pkt_answer) && FL_BIND(pkt_push_rr, ldns_pkt_push_rr) &&
      FL_BIND(rr_list_rr_count, ldns_rr_list_rr_count) && FL_BIND(rr_list_rr, ldns_rr_list_rr) &&
      FL_BIND(rr_new, ldns_rr_new) && FL_BIND(rr_free, ldns_rr_free) &&
      FL_BIND(rr_clone, ldns_rr_clone) && FL_BIND(rr_owner, ldns_rr_owner) &&
      FL_BIND(rr_get_type, ldns_rr_get_type) && FL_BIND(rr_set_owner, ldns_rr_set_owner) &&
      FL_BIND(rr_set_type, ldns_rr_set_type) && FL_BIND(rr_set_class, ldns_rr_set_class) &&
      FL_BIND(rr_set_ttl, ldns_rr_set_ttl) && FL_BIND(rr_push_rdf, ldns_rr_push_rdf) &&
      FL_BIND(rr_rd_count, ldns_rr_rd_count) && FL_BIND(rr_rdf, ldns_rr_rdf) &&
      FL_BIND(rdf_new_frm_str, ldns_rdf_new_frm_str) && FL_BIND(rdf_clone, ldns_rdf_clone) &&
      FL_BIND(rdf_deep_free, ldns_rdf_deep_free) && FL_BIND(rdf2str, ldns_rdf2str) &&
      FL_BIND(dname_new_frm_str, ldns_dname_new_frm_str) &&
      FL_BIND(errorstr, ldns_get_errorstr_by_id);
  if (!ok) return fail("libldns.so.3 lacks a function faultline needs: {}", dlerror());
  return l;
}
#undef FL_BIND

Result<const LdnsLibrary*> ldns() {
  static const Result<LdnsLibrary> loaded = load_ldns();
  if (!loaded) return std::unexpected(loaded.error());
  return &*loaded;
}

// A packet owned here, freed by ldns.
using PacketPtr = std::unique_ptr<ldns_pkt, void (*)(ldns_pkt*)>;

Result<PacketPtr> parse(const LdnsLibrary& l, std::span<const uint8_t> wire) {
  ldns_pkt* pkt = nullptr;
  if (const ldns_status s = l.wire2pkt(&pkt, wire.data(), wire.size()); s != LDNS_STATUS_OK)
    return fail("not a DNS message: {}", l.errorstr(s));
  return PacketPtr(pkt, l.pkt_free);
}

Result<DnsWire> to_wire(const LdnsLibrary& l, const ldns_pkt* pkt) {
  uint8_t* buffer = nullptr;
  size_t size = 0;
  if (const ldns_status s = l.pkt2wire(&buffer, pkt, &size); s != LDNS_STATUS_OK)
    return fail("could not write the DNS message: {}", l.errorstr(s));
  DnsWire out(buffer, buffer + size);
  std::free(buffer);  // ldns allocates with malloc (LDNS_XMALLOC)
  return out;
}

std::string rdf_text(const LdnsLibrary& l, const ldns_rdf* rdf) {
  char* text = l.rdf2str(rdf);
  if (text == nullptr) return "";
  std::string out(text);
  std::free(text);
  return out;
}

// A reply skeleton for `query`: its id, opcode, RD and CD, its question; QR and RA set.
Result<PacketPtr> reply_to(const LdnsLibrary& l, const ldns_pkt* query, DnsRcode rcode) {
  PacketPtr reply(l.pkt_new(), l.pkt_free);
  if (!reply) return fail("out of memory building a DNS reply");
  l.pkt_set_id(reply.get(), l.pkt_id(query));
  l.pkt_set_qr(reply.get(), true);
  l.pkt_set_opcode(reply.get(), l.pkt_get_opcode(query));
  l.pkt_set_rd(reply.get(), l.pkt_rd(query));
  l.pkt_set_cd(reply.get(), l.pkt_cd(query));
  l.pkt_set_ra(reply.get(), true);
  l.pkt_set_rcode(reply.get(), static_cast<uint8_t>(rcode));
  const ldns_rr_list* question = l.pkt_question(query);
  for (size_t i = 0; question != nullptr && i < l.rr_list_rr_count(question); ++i)
    l.pkt_push_rr(reply.get(), LDNS_SECTION_QUESTION, l.rr_clone(l.rr_list_rr(question, i)));
  return reply;
}

Result<PacketPtr> parse_query(const LdnsLibrary& l, std::span<const uint8_t> wire) {
  PacketPtr query = FL_TRY(parse(l, wire));
  if (l.pkt_qr(query.get())) return fail("a reply, not a query");
  const ldns_rr_list* question = l.pkt_question(query.get());
  if (question == nullptr || l.rr_list_rr_count(question) != 1)
    return fail("a query without exactly one question");
  return query;
}

}  // namespace

Result<DnsQuestion> read_question(std::span<const uint8_t> wire) {
  const LdnsLibrary& l = *FL_TRY(ldns());
  const PacketPtr query = FL_TRY(parse_query(l, wire));
  const ldns_rr* q = l.rr_list_rr(l.pkt_question(query.get()), 0);
  return DnsQuestion{l.pkt_id(query.get()), rdf_text(l, l.rr_owner(q)),
                     static_cast<uint16_t>(l.rr_get_type(q))};
}

Result<DnsWire> error_reply(std::span<const uint8_t> wire, DnsRcode rcode) {
  const LdnsLibrary& l = *FL_TRY(ldns());
  const PacketPtr query = FL_TRY(parse_query(l, wire));
  const PacketPtr reply = FL_TRY(reply_to(l, query.get(), rcode));
  return to_wire(l, reply.get());
}

Result<DnsWire> address_reply(std::span<const uint8_t> wire, const SpoofAddress& address,
                              uint32_t ttl) {
  const LdnsLibrary& l = *FL_TRY(ldns());
  const PacketPtr query = FL_TRY(parse_query(l, wire));
  const PacketPtr reply = FL_TRY(reply_to(l, query.get(), DnsRcode::NoError));
  const ldns_rr* q = l.rr_list_rr(l.pkt_question(query.get()), 0);
  const ldns_rr_type wanted = address.family == 4 ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA;
  if (l.rr_get_type(q) != wanted) return to_wire(l, reply.get());
  ldns_rdf* data = l.rdf_new_frm_str(address.family == 4 ? LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA,
                                     address.text.c_str());
  if (data == nullptr) return fail("ldns refused the address '{}'", address.text);
  ldns_rr* answer = l.rr_new();
  l.rr_set_owner(answer, l.rdf_clone(l.rr_owner(q)));
  l.rr_set_type(answer, wanted);
  l.rr_set_class(answer, LDNS_RR_CLASS_IN);
  l.rr_set_ttl(answer, ttl);
  l.rr_push_rdf(answer, data);
  l.pkt_push_rr(reply.get(), LDNS_SECTION_ANSWER, answer);  // the packet owns it now
  return to_wire(l, reply.get());
}

Result<DnsWire> build_query(uint16_t id, const std::string& name, uint16_t type) {
  const LdnsLibrary& l = *FL_TRY(ldns());
  ldns_rdf* owner = l.dname_new_frm_str(name.c_str());
  if (owner == nullptr) return fail("'{}' is not a DNS name", name);
  PacketPtr query(
      l.pkt_query_new(owner, static_cast<ldns_rr_type>(type), LDNS_RR_CLASS_IN, LDNS_RD),
      l.pkt_free);
  if (!query) return fail("ldns could not build a query for '{}'", name);
  l.pkt_set_id(query.get(), id);
  return to_wire(l, query.get());
}

Result<DnsAnswer> read_answer(std::span<const uint8_t> wire) {
  const LdnsLibrary& l = *FL_TRY(ldns());
  const PacketPtr reply = FL_TRY(parse(l, wire));
  if (!l.pkt_qr(reply.get())) return fail("a query, not a reply");
  DnsAnswer out;
  out.id = l.pkt_id(reply.get());
  out.rcode = rcode_name(l.pkt_get_rcode(reply.get()));
  out.truncated = l.pkt_tc(reply.get());
  const ldns_rr_list* answers = l.pkt_answer(reply.get());
  for (size_t i = 0; answers != nullptr && i < l.rr_list_rr_count(answers); ++i) {
    const ldns_rr* rr = l.rr_list_rr(answers, i);
    std::string data;
    for (size_t k = 0; k < l.rr_rd_count(rr); ++k)
      data += (k == 0 ? "" : " ") + rdf_text(l, l.rr_rdf(rr, k));
    out.records.push_back(std::move(data));
  }
  return out;
}

std::string rcode_name(unsigned rcode) {
  switch (rcode) {
    case 0:
      return "NOERROR";
    case 1:
      return "FORMERR";
    case 2:
      return "SERVFAIL";
    case 3:
      return "NXDOMAIN";
    case 4:
      return "NOTIMP";
    case 5:
      return "REFUSED";
    default:
      return fmt::format("RCODE{}", rcode);
  }
}

Result<void> ldns_usable() {
  if (auto loaded = ldns(); !loaded) return std::unexpected(loaded.error());
  return {};
}

}  // namespace faultline

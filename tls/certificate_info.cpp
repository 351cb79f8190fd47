#include <arpa/inet.h>

#include <algorithm>

#include "tls/certs.h"
#include "tls/openssl_util.h"

namespace faultline::tls {
namespace {

std::string asn1_string(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

std::string ip_text(const ASN1_OCTET_STRING* ip) {
  char text[INET6_ADDRSTRLEN] = "";
  const int length = ASN1_STRING_length(ip);
  const unsigned char* bytes = ASN1_STRING_get0_data(ip);
  if (length == 4) inet_ntop(AF_INET, bytes, text, sizeof text);
  if (length == 16) inet_ntop(AF_INET6, bytes, text, sizeof text);
  return text;
}

std::string usage_name(const ASN1_OBJECT* usage) {
  const int nid = OBJ_obj2nid(usage);
  if (nid != NID_undef) return OBJ_nid2sn(nid);  // "serverAuth", "clientAuth"
  char oid[128];
  OBJ_obj2txt(oid, sizeof oid, usage, 1);
  return oid;
}

}  // namespace

Result<CertificateInfo> describe_certificate(std::string_view pem) {
  X509Ptr cert = FL_TRY(parse_certificate(pem));
  CertificateInfo info;
  const X509_NAME* subject = X509_get_subject_name(cert.get());
  if (const int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); at >= 0)
    info.common_name = asn1_string(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at)));
  GeneralNamesPtr sans(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans.get(), i);
    if (name->type == GEN_DNS) info.dns_names.push_back(asn1_string(name->d.dNSName));
    if (name->type == GEN_IPADD) info.ip_addresses.push_back(ip_text(name->d.iPAddress));
  }
  EkuPtr usages(static_cast<EXTENDED_KEY_USAGE*>(
      X509_get_ext_d2i(cert.get(), NID_ext_key_usage, nullptr, nullptr)));
  for (int i = 0; usages && i < sk_ASN1_OBJECT_num(usages.get()); ++i)
    info.extended_key_usages.push_back(usage_name(sk_ASN1_OBJECT_value(usages.get(), i)));
  BasicConstraintsPtr constraints(static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(cert.get(), NID_basic_constraints, nullptr, nullptr)));
  info.is_ca = constraints && constraints->ca != 0;
  info.not_after = FL_TRY(to_time_point(X509_get0_notAfter(cert.get())));
  return info;
}

Result<std::vector<std::string>> certificate_names(std::string_view pem) {
  const CertificateInfo info = FL_TRY(describe_certificate(pem));
  std::vector<std::string> names;
  if (!info.common_name.empty()) names.push_back(info.common_name);
  for (const std::string& dns : info.dns_names)
    if (std::find(names.begin(), names.end(), dns) == names.end()) names.push_back(dns);
  return names;
}

}  // namespace faultline::tls

#pragma once
// A rule of the userspace backend's table as text, in nft's syntax, from what the kernel dumped:
// the journal's listing. nft's own listing (libnftables) is not used for it: to print the
// xtables NFQUEUE target of an inet table it calls libxtables, which writes "libxtables:
// unhandled NFPROTO in xtables_set_nfproto" to the process's stderr every time.
// Renders the expressions rule_expressions.h builds; any other appears as [name].
#include <string>

struct nftnl_rule;

namespace faultline {

// e.g. `meta nfproto ipv4 @nh,16,32 & 0xffffffff == 0xa00c802 counter packets 3 bytes 252
// queue num 7 bypass`.
std::string describe_rule(const nftnl_rule* rule);

}  // namespace faultline

#pragma once
#include "injectors/injector.h"

namespace faultline {
// Answers chosen DNS names with NXDOMAIN, SERVFAIL, REFUSED, a spoofed address, silence or a
// delay, inside one network namespace: an nftables table of its own redirects the namespace's
// DNS queries to a responder in faultline, which forwards every other query to the resolver it
// was sent to. /etc/hosts and resolv.conf are never touched.
InjectorDescriptor dns_descriptor();
}  // namespace faultline

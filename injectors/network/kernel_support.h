#pragma once
// Whether this kernel can create a qdisc kind, found out by creating one in a throwaway network
// namespace (so nothing on the host changes): the only reliable test, since a kind may be
// built in, loadable on demand, or missing.
#include <string>

#include "core/result.h"

namespace faultline {

// Empty when the kind works; otherwise why not, with how to fix it.
Result<void> qdisc_kind_available(const std::string& kind);

// CAP_NET_ADMIN in the effective set.
bool has_net_admin();

}  // namespace faultline

#pragma once
// nftables through libnftables. A script (several commands, one per line) goes to the kernel as
// one transaction: all of it takes effect or none does. It acts in the network namespace of the
// calling thread. No libnftables type leaves this file pair.
#include <string>
#include <string_view>

#include "core/result.h"

namespace faultline {

// Runs `script` as one transaction and returns what nft printed (a listing, for `list`
// commands). The error is nft's own message, e.g. "Error: Could not process rule: File exists".
Result<std::string> nft_run(std::string_view script);

// Checks `script` as nft -c does: the kernel validates the transaction (loading the modules it
// needs, such as nft_chain_nat or nft_redirect) and aborts it, so nothing changes.
Result<void> nft_check(std::string_view script);

// True when nft refused a command because its object does not exist (ENOENT), as a second
// `delete table` of the same table does.
bool nft_object_missing(const Error& error);

// A name for a table of faultline's own, unique per process and fault: "faultline_PURPOSE_PID_N"
// ("faultline_PID_N" with no purpose). The prefix is what the undo step and the leftover scan
// require.
std::string next_nft_table_name(std::string_view purpose = "");

// How many rules of an nft script carry a counter.
size_t counted_rules(std::string_view script);

// Whether this process may change nftables in its network namespace, and why not: it needs
// CAP_NET_ADMIN, a working libnftables and nf_tables in the kernel. The check is a read-only
// `list tables`, which only succeeds when all three are there.
Result<void> nftables_usable();

}  // namespace faultline

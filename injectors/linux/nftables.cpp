#include "injectors/linux/nftables.h"

#include <nftables/libnftables.h>

#include <charconv>
#include <fstream>
#include <memory>

namespace faultline {
namespace {

constexpr int kCapNetAdmin = 12;  // linux/capability.h

struct ContextFree {
  void operator()(nft_ctx* ctx) const { nft_ctx_free(ctx); }
};
using Context = std::unique_ptr<nft_ctx, ContextFree>;

// nft's error output is the message, then the offending command with a caret line under it:
// one line of message and the command is enough for a report.
std::string condense(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  std::string out;
  size_t start = 0;
  int lines = 0;
  while (start < text.size() && lines < 2) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    if (!line.empty() && line.find_first_not_of("^~ ") != std::string_view::npos) {
      out += (out.empty() ? "" : " in: ") + std::string(line);
      ++lines;
    }
    start = end + 1;
  }
  return out.empty() ? "nft failed without a message" : out;
}

bool has_capability(int capability) {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key != "CapEff:") continue;
    std::string hex;
    status >> hex;
    unsigned long long mask = 0;
    if (std::from_chars(hex.data(), hex.data() + hex.size(), mask, 16).ec != std::errc())
      return false;
    return ((mask >> capability) & 1ULL) != 0;
  }
  return false;
}

}  // namespace

Result<std::string> nft_run(std::string_view script) {
  Context ctx(nft_ctx_new(NFT_CTX_DEFAULT));
  if (!ctx) return fail("libnftables could not create a context");
  if (nft_ctx_buffer_output(ctx.get()) != 0 || nft_ctx_buffer_error(ctx.get()) != 0)
    return fail("libnftables could not buffer its output");
  const std::string text(script);
  if (nft_run_cmd_from_buffer(ctx.get(), text.c_str()) != 0)
    return fail("{}", condense(nft_ctx_get_error_buffer(ctx.get())));
  const char* output = nft_ctx_get_output_buffer(ctx.get());
  return std::string(output == nullptr ? "" : output);
}

bool nft_object_missing(const Error& error) {
  return error.message.find("No such file or directory") != std::string::npos;
}

Result<void> nftables_usable() {
  if (!has_capability(kCapNetAdmin))
    return fail("changing nftables rules needs CAP_NET_ADMIN; run faultline as root");
  if (auto listed = nft_run("list tables"); !listed)
    return fail(
        "nftables does not answer ({}); the kernel needs nf_tables (modprobe nf_tables, "
        "or a kernel built with CONFIG_NF_TABLES)",
        listed.error().message);
  return {};
}

}  // namespace faultline

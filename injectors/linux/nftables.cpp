#include "injectors/linux/nftables.h"

#include <nftables/libnftables.h>

#include <unistd.h>

#include <atomic>
#include <charconv>
#include <fstream>
#include <memory>

#include "core/loaded_library.h"

namespace faultline {
namespace {

constexpr int kCapNetAdmin = 12;  // linux/capability.h

// libnftables and the five libraries it brings (libnftnl, libmnl, libxtables, libjansson,
// libgmp) are loaded when a partition is first made or checked, not when faultline or the agent
// starts: most runs never cut traffic, and an idle agent keeps its memory small.
struct NftLibrary {
  decltype(&nft_ctx_new) ctx_new;
  decltype(&nft_ctx_free) ctx_free;
  decltype(&nft_ctx_buffer_output) buffer_output;
  decltype(&nft_ctx_buffer_error) buffer_error;
  decltype(&nft_run_cmd_from_buffer) run_cmd_from_buffer;
  decltype(&nft_ctx_get_error_buffer) get_error_buffer;
  decltype(&nft_ctx_get_output_buffer) get_output_buffer;
  decltype(&nft_ctx_set_dry_run) set_dry_run;
};

Result<NftLibrary> load_nft() {
  void* handle = FL_TRY(open_library("libnftables.so.1", "network partitions need libnftables",
                                     "libnftables1"));
  NftLibrary n{};
  const bool ok = bind_function(handle, "nft_ctx_new", n.ctx_new) &&
                  bind_function(handle, "nft_ctx_free", n.ctx_free) &&
                  bind_function(handle, "nft_ctx_buffer_output", n.buffer_output) &&
                  bind_function(handle, "nft_ctx_buffer_error", n.buffer_error) &&
                  bind_function(handle, "nft_run_cmd_from_buffer", n.run_cmd_from_buffer) &&
                  bind_function(handle, "nft_ctx_get_error_buffer", n.get_error_buffer) &&
                  bind_function(handle, "nft_ctx_get_output_buffer", n.get_output_buffer) &&
                  bind_function(handle, "nft_ctx_set_dry_run", n.set_dry_run);
  if (!ok) return fail("libnftables.so.1 lacks a function faultline needs: {}", dlerror());
  return n;
}

Result<const NftLibrary*> nft_library() {
  static const Result<NftLibrary> loaded = load_nft();
  if (!loaded) return std::unexpected(loaded.error());
  return &*loaded;
}

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

namespace {
Result<std::string> run_script(std::string_view script, bool dry_run) {
  const NftLibrary* nft = FL_TRY(nft_library());
  std::unique_ptr<nft_ctx, decltype(nft->ctx_free)> ctx(nft->ctx_new(NFT_CTX_DEFAULT),
                                                        nft->ctx_free);
  if (!ctx) return fail("libnftables could not create a context");
  if (nft->buffer_output(ctx.get()) != 0 || nft->buffer_error(ctx.get()) != 0)
    return fail("libnftables could not buffer its output");
  nft->set_dry_run(ctx.get(), dry_run);
  const std::string text(script);
  if (nft->run_cmd_from_buffer(ctx.get(), text.c_str()) != 0)
    return fail("{}", condense(nft->get_error_buffer(ctx.get())));
  const char* output = nft->get_output_buffer(ctx.get());
  return std::string(output == nullptr ? "" : output);
}
}  // namespace

Result<std::string> nft_run(std::string_view script) {
  return run_script(script, false);
}

Result<void> nft_check(std::string_view script) {
  if (auto checked = run_script(script, true); !checked)
    return std::unexpected(checked.error());
  return {};
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

std::string next_nft_table_name(std::string_view purpose) {
  static std::atomic<uint64_t> next{1};
  if (purpose.empty()) return fmt::format("faultline_{}_{}", getpid(), next++);
  return fmt::format("faultline_{}_{}_{}", purpose, getpid(), next++);
}

size_t counted_rules(std::string_view script) {
  size_t n = 0;
  for (size_t at = script.find(" counter "); at != std::string_view::npos;
       at = script.find(" counter ", at + 1))
    ++n;
  return n;
}

}  // namespace faultline

// Every #include of a faultline header points down: from a file in one folder of layers.txt to
// a header in a folder that layers.txt lets that folder use. CMake checks the link lines against
// the same file (cmake/Layers.cmake); this checks what the compiler sees.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

struct Layers {
  std::vector<std::string> folders;  // in the file's order
  std::map<std::string, std::set<std::string>> may_use;  // transitive
};

// Reads layers.txt's lines "folder targets : folders"; a line it cannot read is a failure.
Layers read_layers(std::istream& in, std::vector<std::string>& problems) {
  Layers layers;
  std::map<std::string, std::vector<std::string>> direct;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string text = line.substr(0, line.find('#'));
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    const size_t colon = text.find(':');
    std::istringstream head(text.substr(0, colon));
    std::string folder, targets;
    if (colon == std::string::npos || !(head >> folder >> targets)) {
      problems.push_back(fmt::format("layers.txt:{}: cannot read '{}'", number, line));
      continue;
    }
    layers.folders.push_back(folder);
    std::istringstream uses(text.substr(colon + 1));
    for (std::string used; uses >> used;) direct[folder].push_back(used);
  }
  for (const std::string& folder : layers.folders) {
    std::vector<std::string> todo = direct[folder];
    std::set<std::string>& closure = layers.may_use[folder];
    while (!todo.empty()) {
      const std::string used = todo.back();
      todo.pop_back();
      if (closure.insert(used).second)
        for (const std::string& next : direct[used]) todo.push_back(next);
    }
  }
  return layers;
}

// The listed folder that `path` (relative to the repository) belongs to: the longest listed
// prefix of its directory.
std::optional<std::string> folder_of(const Layers& layers, const std::string& path) {
  std::optional<std::string> best;
  for (const std::string& folder : layers.folders)
    if (path.starts_with(folder + "/") && (!best || folder.size() > best->size())) best = folder;
  return best;
}

// The problems with one file's include lines; `exists` says whether a quoted include names a
// file of the repository (rather than a system or generated header).
template <typename Exists>
std::vector<std::string> check_file(const Layers& layers, const std::string& path,
                                    std::istream& text, Exists exists) {
  static const std::regex include_line(R"re(^\s*#\s*include\s*"([^"]+)")re");
  std::vector<std::string> problems;
  const std::optional<std::string> from = folder_of(layers, path);
  std::string line;
  for (int number = 1; std::getline(text, line); ++number) {
    std::smatch m;
    if (!std::regex_search(line, m, include_line)) continue;
    const std::string header = m[1];
    if (!exists(header)) continue;
    const std::optional<std::string> to = folder_of(layers, header);
    if (!from || !to) {
      problems.push_back(fmt::format("{}:{}: error: '{}' is in no folder of layers.txt; add its "
                                     "folder there",
                                     path, number, !from ? path : header));
      continue;
    }
    if (*to == *from || layers.may_use.at(*from).contains(*to)) continue;
    std::vector<std::string> allowed(layers.may_use.at(*from).begin(),
                                     layers.may_use.at(*from).end());
    problems.push_back(fmt::format(
        "{}:{}: error: {}/ includes \"{}\" from {}/, which layers.txt does not let it use (it "
        "may use: {}); move what it needs down, or include it from a layer above",
        path, number, *from, header, *to, allowed.empty() ? "nothing" : fmt::format("{}", fmt::join(allowed, " "))));
  }
  return problems;
}

Layers layers_of(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> problems;
  Layers layers = read_layers(in, problems);
  REQUIRE(problems.empty());
  return layers;
}

}  // namespace

TEST_CASE("layers: an include from a layer above is refused with its place and the fix",
          "[layers]") {
  const Layers layers = layers_of(
      "core  faultline_core  :\n"
      "injectors  faultline_injectors  : core\n"
      "agent/local  faultline_agent_local  : injectors   # the in-process agent\n"
      "controller/run  faultline_run  : agent/local\n");
  CHECK(layers.may_use.at("controller/run") ==
        std::set<std::string>{"agent/local", "injectors", "core"});
  const auto any = [](const std::string&) { return true; };

  std::istringstream down("#include \"agent/local/local_agent.h\"\n#include \"core/result.h\"\n");
  CHECK(check_file(layers, "controller/run/engine.cpp", down, any).empty());

  std::istringstream up("#include <vector>\n\n#include \"controller/run/engine.h\"\n");
  CHECK(check_file(layers, "injectors/network/scope.cpp", up, any) ==
        std::vector<std::string>{
            "injectors/network/scope.cpp:3: error: injectors/ includes "
            "\"controller/run/engine.h\" from controller/run/, which layers.txt does not let it "
            "use (it may use: core); move what it needs down, or include it from a layer above"});

  std::istringstream unlisted("#include \"scripts/helper.h\"\n");
  CHECK(check_file(layers, "core/x.cpp", unlisted, any) ==
        std::vector<std::string>{"core/x.cpp:1: error: 'scripts/helper.h' is in no folder of "
                                 "layers.txt; add its folder there"});

  std::istringstream generated("#include \"agent.pb.h\"\n");
  CHECK(check_file(layers, "core/x.cpp", generated,
                   [](const std::string& h) { return h != "agent.pb.h"; })
            .empty());
}

TEST_CASE("layers: every include points down", "[layers]") {
  const fs::path root = FAULTLINE_SOURCE_DIR;
  std::ifstream matrix(root / "layers.txt");
  REQUIRE(matrix);
  std::vector<std::string> problems;
  const Layers layers = read_layers(matrix, problems);
  REQUIRE(layers.folders.size() >= 10);

  const auto exists = [&](const std::string& header) { return fs::is_regular_file(root / header); };
  std::set<std::string> tops;
  for (const std::string& folder : layers.folders) tops.insert(folder.substr(0, folder.find('/')));
  int files = 0;
  for (const std::string& top : tops) {
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(root / top)) {
      const std::string ext = entry.path().extension();
      if (!entry.is_regular_file() || (ext != ".h" && ext != ".cpp")) continue;
      const std::string path = fs::relative(entry.path(), root);
      std::ifstream text(entry.path());
      for (std::string& p : check_file(layers, path, text, exists)) problems.push_back(p);
      ++files;
    }
  }
  INFO(fmt::format("{} files checked; {} problems:\n{}", files, problems.size(),
                   fmt::join(problems, "\n")));
  CHECK(files > 250);  // 277 when this was written: the walk found the tree
  CHECK(problems.empty());
}

TEST_CASE("layers: every folder with sources is in layers.txt", "[layers]") {
  const fs::path root = FAULTLINE_SOURCE_DIR;
  std::ifstream matrix(root / "layers.txt");
  std::vector<std::string> problems;
  const Layers layers = read_layers(matrix, problems);
  for (const fs::directory_entry& top : fs::directory_iterator(root)) {
    const std::string name = top.path().filename();
    if (!top.is_directory() || name.starts_with(".") || name.starts_with("build")) continue;
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(top.path())) {
      const std::string ext = entry.path().extension();
      if (ext != ".h" && ext != ".cpp") continue;
      const std::string path = fs::relative(entry.path(), root);
      if (!folder_of(layers, path)) problems.push_back(path + " is in no folder of layers.txt");
    }
  }
  INFO(fmt::format("{}", fmt::join(problems, "\n")));
  CHECK(problems.empty());
}

// The agent's state file: what it holds comes back exactly, every write replaces it whole, and a
// file it cannot understand is an error that says what to do, never an empty state.
#include "agent/local/state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>

#include "tests/support/temp_dir.h"

using namespace faultline;
using faultline::test::TempDir;
using nlohmann::json;

namespace {

StateEntry entry(const std::string& owner, const std::string& id, json undo) {
  StateEntry e;
  e.owner = owner;
  e.fault_id = id;
  e.kind = "process_pause";
  e.undo = std::move(undo);
  return e;
}

// A step that is valid and has nothing to do: no process has this pid (it is above pid_max).
const json kNothingToResume = {{"op", "resume"}, {"pid", 2147483647}, {"start_ticks", 1}};

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_all(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

size_t files_in(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

}  // namespace

TEST_CASE("state file: a missing file is an empty state", "[undo][state_file]") {
  TempDir dir;
  StateFile file(dir.file("state.json"));
  auto loaded = file.load();
  REQUIRE(loaded);
  CHECK(loaded->empty());
  REQUIRE(file.forget("run", "nothing"));  // forgetting what is not there is fine
  CHECK(read_all(file.path()) == "{\"entries\":[],\"faultline_agent_state\":1}\n");
}

TEST_CASE("state file: entries come back exactly, and record replaces by owner and fault id",
          "[undo][state_file]") {
  TempDir dir;
  StateFile file(dir.file("state.json"));
  REQUIRE(file.record(entry("run-1", "pause", json::array({kNothingToResume}))));
  REQUIRE(file.record(entry("run-2", "pause", json::array())));
  // Same owner and id: replaced, not added.
  StateEntry again = entry("run-1", "pause", json::array({kNothingToResume, kNothingToResume}));
  again.kind = "cpu_stress";
  REQUIRE(file.record(again));

  auto loaded = file.load();
  REQUIRE(loaded);
  REQUIRE(loaded->size() == 2);
  const StateEntry& first = (*loaded)[0];
  CHECK(first.owner == "run-1");
  CHECK(first.fault_id == "pause");
  CHECK(first.kind == "cpu_stress");
  CHECK(first.undo == json::array({kNothingToResume, kNothingToResume}));
  CHECK(std::regex_match(first.written_at, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
  CHECK(first.undo_errors.empty());
  CHECK((*loaded)[1].owner == "run-2");
  CHECK((*loaded)[1].undo == json::array());

  // Another StateFile on the same path (a restarted agent) reads the same.
  auto reread = StateFile(file.path()).load();
  REQUIRE(reread);
  CHECK(reread->size() == 2);

  REQUIRE(file.forget("run-1", "pause"));
  loaded = file.load();
  REQUIRE(loaded);
  REQUIRE(loaded->size() == 1);
  CHECK((*loaded)[0].owner == "run-2");
}

TEST_CASE("state file: every write replaces the file whole and leaves no temporary file",
          "[undo][state_file]") {
  TempDir dir;
  StateFile file(dir.file("state.json"));
  REQUIRE(file.record(entry("run", "a", json::array())));
  const std::string before = read_all(file.path());
  struct stat old_stat {};
  REQUIRE(stat(file.path().c_str(), &old_stat) == 0);
  // A reader that opened the file before the write keeps seeing the complete old content.
  const int reader = open(file.path().c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(reader >= 0);

  REQUIRE(file.record(entry("run", "b", json::array({kNothingToResume}))));

  struct stat new_stat {};
  REQUIRE(stat(file.path().c_str(), &new_stat) == 0);
  CHECK(new_stat.st_ino != old_stat.st_ino);  // renamed over, not rewritten in place
  std::string seen(static_cast<size_t>(old_stat.st_size), '\0');
  CHECK(pread(reader, seen.data(), seen.size(), 0) == old_stat.st_size);
  close(reader);
  CHECK(seen == before);
  CHECK(files_in(dir.path()) == 1);
  auto loaded = file.load();
  REQUIRE(loaded);
  CHECK(loaded->size() == 2);
}

TEST_CASE("state file: a corrupt file is an error that names it and says what to do",
          "[undo][state_file]") {
  TempDir dir;
  const std::string path = dir.file("state.json");
  StateFile file(path);
  const std::string advice =
      "; it may hold the undo of faults still applied on this host: undo by hand what it lists, "
      "then move it aside";
  struct Case {
    std::string content;
    std::string problem;
  };
  const Case cases[] = {
      {"{\"entries\": [{\"owner\": \"run\"", "not valid JSON"},
      {"", "not valid JSON"},
      {"[]", "not a version 1 agent state"},
      {"{\"faultline_agent_state\": 2, \"entries\": []}", "not a version 1 agent state"},
      {"{\"faultline_agent_state\": \"1\", \"entries\": []}", "not a version 1 agent state"},
      {"{\"faultline_agent_state\": 1}", "no 'entries' list"},
      {"{\"faultline_agent_state\": 1, \"entries\": [7]}", "entry 0 is not an object"},
      {"{\"faultline_agent_state\": 1, \"entries\": [{\"owner\": \"r\", \"fault_id\": \"f\", "
       "\"kind\": \"k\", \"written_at\": \"t\", \"undo\": {}}]}",
       "entry 0 has no 'undo' array of steps"},
      {"{\"faultline_agent_state\": 1, \"entries\": [{\"fault_id\": \"f\"}]}",
       "entry 0 has no 'owner' text"},
  };
  for (const Case& c : cases) {
    INFO(c.content);
    write_all(path, c.content);
    auto loaded = file.load();
    REQUIRE_FALSE(loaded);
    CHECK(loaded.error().message ==
          "state file " + path + " is corrupt (" + c.problem + ")" + advice);
    // Nothing is written over it: the undos it may hold are not dropped.
    CHECK_FALSE(file.record(entry("run", "x", json::array())));
    CHECK_FALSE(file.forget("run", "x"));
    CHECK(read_all(path) == c.content);
  }
}

TEST_CASE("state file: an undo plan that is not a list is refused", "[undo][state_file]") {
  TempDir dir;
  StateFile file(dir.file("state.json"));
  auto recorded = file.record(entry("run", "f", json::object()));
  REQUIRE_FALSE(recorded);
  CHECK(recorded.error().message ==
        "the undo plan of fault 'f' must be a JSON array of steps, not {}");
}

TEST_CASE("recover: done entries are forgotten, failed steps are kept with their errors",
          "[undo][state_file]") {
  TempDir dir;
  StateFile file(dir.file("state.json"));
  const json unknown = {{"op", "frobnicate"}};
  REQUIRE(file.record(entry("run", "done", json::array({kNothingToResume}))));
  REQUIRE(file.record(entry("run", "empty", json::array())));
  REQUIRE(file.record(entry("run", "half", json::array({kNothingToResume, unknown}))));

  auto report = recover(file);
  REQUIRE(report);
  REQUIRE(report->undone.size() == 2);
  CHECK(report->undone[0].fault_id == "done");
  CHECK(report->undone[1].fault_id == "empty");
  REQUIRE(report->kept.size() == 1);
  CHECK(report->kept[0].fault_id == "half");
  CHECK(report->kept[0].undo == json::array({unknown}));
  CHECK(report->kept[0].undo_errors ==
        std::vector<std::string>{"unknown undo step op 'frobnicate' in {\"op\":\"frobnicate\"}"});

  auto left = file.load();
  REQUIRE(left);
  REQUIRE(left->size() == 1);
  CHECK(left->front().fault_id == "half");
  CHECK(left->front().undo == json::array({unknown}));
  CHECK(left->front().undo_errors == report->kept[0].undo_errors);

  // A corrupt file stops recovery with the file's error, and is left as it is.
  write_all(file.path(), "nonsense");
  auto failed = recover(file);
  REQUIRE_FALSE(failed);
  CHECK_THAT(failed.error().message,
             Catch::StartsWith("state file " + file.path() + " is corrupt (not valid JSON)"));
  CHECK(read_all(file.path()) == "nonsense");
}

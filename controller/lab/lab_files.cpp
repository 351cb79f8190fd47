#include "controller/lab/lab_files.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "tls/certs.h"

namespace faultline::lab {
namespace {

void emit_labels(YAML::Emitter& out, int index) {
  // Quoted: label values are strings, and an unquoted true or 3 would read back as others.
  out << YAML::Key << "labels" << YAML::Value << YAML::Flow << YAML::BeginMap;
  out << YAML::Key << "lab" << YAML::Value << YAML::DoubleQuoted << "true";
  out << YAML::Key << "index" << YAML::Value << YAML::DoubleQuoted << std::to_string(index);
  out << YAML::Key << "role" << YAML::Value << host_role(index);
  out << YAML::EndMap;
}

Result<void> make_dir(const std::string& path, mode_t mode) {
  if (mkdir(path.c_str(), mode) != 0 && errno != EEXIST)
    return fail("cannot create directory '{}': {}", path, std::strerror(errno));
  return {};
}

Result<void> write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out.flush()) return fail("cannot write '{}'", path);
  return {};
}

}  // namespace

std::string agent_config_yaml(const LabPaths& paths, int index) {
  YAML::Emitter out;
  out << YAML::Comment(fmt::format("faultline lab host {}: written by `faultline lab up`", index));
  out << YAML::BeginMap;
  out << YAML::Key << "host" << YAML::Value << host_name(index);
  emit_labels(out, index);
  out << YAML::Key << "listen" << YAML::Value
      << fmt::format("{}:{}", host_address(index), kAgentPort);
  out << YAML::Key << "tls" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "ca" << YAML::Value << paths.certs() + "/ca.pem";
  out << YAML::Key << "cert" << YAML::Value << paths.certs() + "/" + host_name(index) + ".pem";
  out << YAML::Key << "key" << YAML::Value << paths.certs() + "/" + host_name(index) + ".key";
  out << YAML::Key << "allowed_clients" << YAML::Value << YAML::Flow << YAML::BeginSeq
      << kControllerName << YAML::EndSeq;
  out << YAML::EndMap;
  out << YAML::Key << "state_file" << YAML::Value << paths.state_file(index);
  out << YAML::Key << "scope" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "netns" << YAML::Value << "own";
  out << YAML::EndMap;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::string inventory_yaml(const LabPaths& paths, int hosts) {
  YAML::Emitter out;
  out << YAML::Comment(
      fmt::format("faultline lab: {} host(s) on bridge {}, written by "
                  "`faultline lab up`",
                  hosts, kBridge));
  out << YAML::BeginMap;
  out << YAML::Key << "tls" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "ca" << YAML::Value << paths.certs() + "/ca.pem";
  out << YAML::Key << "cert" << YAML::Value << paths.certs() + "/" + kControllerName + ".pem";
  out << YAML::Key << "key" << YAML::Value << paths.certs() + "/" + kControllerName + ".key";
  out << YAML::EndMap;
  out << YAML::Key << "agents" << YAML::Value << YAML::BeginSeq;
  for (int i = 1; i <= hosts; ++i) {
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << host_name(i);
    out << YAML::Key << "address" << YAML::Value
        << fmt::format("{}:{}", host_address(i), kAgentPort);
    emit_labels(out, i);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

Result<void> write_lab_files(const LabPaths& paths, int hosts) {
  std::error_code ec;
  std::filesystem::create_directories(paths.dir, ec);
  if (ec) return fail("cannot create directory '{}': {}", paths.dir, ec.message());
  FL_TRY_VOID(make_dir(paths.dir + "/agents", 0755));
  FL_TRY_VOID(make_dir(paths.dir + "/state", 0700));
  FL_TRY_VOID(make_dir(paths.dir + "/logs", 0755));
  FL_TRY_VOID(make_dir(paths.dir + "/run", 0755));

  tls::IssueOptions certs;
  certs.dir = paths.certs();
  certs.controller_name = kControllerName;
  certs.force = true;  // the lab's own directory: its host certificates are made again each time
  for (int i = 1; i <= hosts; ++i) certs.agents.push_back({host_name(i), host_address(i)});
  if (auto issued = tls::issue_cluster_certs(certs); !issued)
    return fail("certificates in '{}': {}", certs.dir, issued.error().message);

  for (int i = 1; i <= hosts; ++i)
    FL_TRY_VOID(write_text(paths.agent_config(i), agent_config_yaml(paths, i)));
  return write_text(paths.inventory(), inventory_yaml(paths, hosts));
}

}  // namespace faultline::lab

#include "containers/containerd_client.h"

#include <containerd/containers.grpc.pb.h>
#include <containerd/namespaces.grpc.pb.h>
#include <containerd/tasks.grpc.pb.h>
#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

namespace faultline {
namespace {

namespace namespaces = containerd::services::namespaces::v1;
namespace containers = containerd::services::containers::v1;
namespace tasks = containerd::services::tasks::v1;
namespace types = containerd::v1::types;

constexpr std::string_view kDefaultSocket = "/run/containerd/containerd.sock";
// containerd's own client accepts answers up to 16 MiB (defaults.DefaultMaxRecvMsgSize); a
// Containers.List answer carries every container's OCI spec, which gRPC's default of 4 MiB
// would refuse on a host with a few hundred containers.
constexpr int kMaxAnswerBytes = 16 << 20;

std::string code_name(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::CANCELLED:
      return "cancelled";
    case grpc::StatusCode::UNKNOWN:
      return "unknown";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "invalid argument";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "deadline exceeded";
    case grpc::StatusCode::NOT_FOUND:
      return "not found";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "permission denied";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "resource exhausted";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "failed precondition";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "unimplemented";
    case grpc::StatusCode::INTERNAL:
      return "internal";
    case grpc::StatusCode::UNAVAILABLE:
      return "unavailable";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "unauthenticated";
    default:
      return fmt::format("code {}", static_cast<int>(code));
  }
}

// One listing: the channel, its stubs and the deadline every call shares. Used and destroyed on
// the caller's thread with synchronous calls only: gRPC 1.51 aborts when the last reference to a
// channel goes on one of its own callback threads.
class Listing {
 public:
  Listing(const std::string& socket_path, Duration timeout)
      : where_(fmt::format("containerd API at {}", socket_path)),
        timeout_(timeout),
        deadline_(std::chrono::system_clock::now() +
                  std::chrono::duration_cast<std::chrono::system_clock::duration>(timeout)) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(kMaxAnswerBytes);
    // A listing that fails is reported, and the caller decides whether to ask again.
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    channel_ =
        grpc::CreateCustomChannel("unix:" + socket_path, grpc::InsecureChannelCredentials(), args);
    namespaces_ = namespaces::Namespaces::NewStub(channel_);
    containers_ = containers::Containers::NewStub(channel_);
    tasks_ = tasks::Tasks::NewStub(channel_);
  }

  Result<std::vector<Container>> all() {
    namespaces::ListNamespacesResponse listed;
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(deadline_);
      namespaces::ListNamespacesRequest request;
      FL_TRY_VOID(check("Namespaces.List", namespaces_->List(&ctx, request, &listed)));
    }
    std::vector<Container> found;
    for (const namespaces::Namespace& ns : listed.namespaces())
      FL_TRY_VOID(in_namespace(ns.name(), found));
    return found;
  }

 private:
  Result<void> in_namespace(const std::string& ns, std::vector<Container>& found) {
    containers::ListContainersResponse listed;
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(deadline_);
      // containerd's API serves one namespace per call, named by this metadata.
      ctx.AddMetadata("containerd-namespace", ns);
      containers::ListContainersRequest request;
      FL_TRY_VOID(check(fmt::format("Containers.List in namespace {}", ns),
                        containers_->List(&ctx, request, &listed)));
    }
    for (const containers::Container& c : listed.containers()) {
      Container container;
      container.runtime = "containerd";
      container.id = c.id();
      container.name = c.id();
      container.image = c.image();
      container.labels.insert(c.labels().begin(), c.labels().end());
      container.containerd_namespace = ns;
      container.init_pid = FL_TRY(task_pid(ns, c.id()));
      container.found_by = where_;
      found.push_back(std::move(container));
    }
    return {};
  }

  // The pid of the container's task while it has a process to aim at: running, or paused (still
  // there, frozen). 0 without a task, or when the task is created but not started (runc's init
  // waiting to exec) or stopped (the pid of a dead process).
  Result<pid_t> task_pid(const std::string& ns, const std::string& id) {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline_);
    ctx.AddMetadata("containerd-namespace", ns);
    tasks::GetRequest request;
    request.set_container_id(id);
    tasks::GetResponse answer;
    const grpc::Status status = tasks_->Get(&ctx, request, &answer);
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) return 0;
    FL_TRY_VOID(check(fmt::format("Tasks.Get of {} in namespace {}", id, ns), status));
    switch (answer.process().status()) {
      case types::RUNNING:
      case types::PAUSED:
      case types::PAUSING:
        return static_cast<pid_t>(answer.process().pid());
      default:
        return 0;
    }
  }

  Result<void> check(const std::string& call, const grpc::Status& status) const {
    switch (status.error_code()) {
      case grpc::StatusCode::OK:
        return {};
      case grpc::StatusCode::UNAVAILABLE:
        return fail("{}: connect failed: {}", where_, status.error_message());
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        return fail(
            "{}: {}: no answer within {}; is this containerd's socket, and is containerd "
            "responding?",
            where_, call, format_duration(timeout_));
      default:
        return fail("{}: {} failed: {}: {}", where_, call, code_name(status.error_code()),
                    status.error_message());
    }
  }

  std::string where_;
  Duration timeout_;
  std::chrono::system_clock::time_point deadline_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<namespaces::Namespaces::Stub> namespaces_;
  std::unique_ptr<containers::Containers::Stub> containers_;
  std::unique_ptr<tasks::Tasks::Stub> tasks_;
};

}  // namespace

std::string containerd_socket_path() {
  const char* address = std::getenv("CONTAINERD_ADDRESS");
  if (address == nullptr || *address == '\0') return std::string(kDefaultSocket);
  std::string_view path = address;
  if (path.starts_with("unix://")) path.remove_prefix(std::string_view("unix://").size());
  return std::string(path);
}

Result<std::vector<Container>> containerd_containers(const std::string& socket_path,
                                                     Duration timeout) {
  struct stat st {};
  if (stat(socket_path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::vector<Container>{};
    return fail("containerd API at {}: cannot reach the socket: {}", socket_path,
                std::strerror(errno));
  }
  if (!S_ISSOCK(st.st_mode))
    return fail(
        "containerd API at {}: not a unix socket; containerd's is "
        "/run/containerd/containerd.sock unless CONTAINERD_ADDRESS names another",
        socket_path);
  Listing listing(socket_path, timeout);
  return listing.all();
}

}  // namespace faultline

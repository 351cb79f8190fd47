#pragma once
// Telling systemd (Type=notify) that the agent is ready or stopping: one datagram to the socket
// named by $NOTIFY_SOCKET, as sd_notify(3) sends it. Written here rather than linking libsystemd,
// which brings six more libraries (libgcrypt, liblzma, libzstd, ...) into every agent's memory
// for this one call.
#include <string_view>

namespace faultline {

// Sends `state` ("READY=1", "STOPPING=1") when $NOTIFY_SOCKET names a unix socket (a path, or
// "@name" for the abstract namespace). False when there is none, or the send failed: the agent
// runs the same either way.
bool notify_service_manager(std::string_view state);

}  // namespace faultline

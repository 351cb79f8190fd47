#include "controller/verdict/record.h"

namespace faultline {

std::string_view status_name(RunStatus s) {
  switch (s) {
    case RunStatus::Held:
      return "held";
    case RunStatus::Deviated:
      return "deviated";
    case RunStatus::Aborted:
      return "aborted";
    case RunStatus::Error:
      return "error";
    case RunStatus::RevertFailed:
      return "revert_failed";
  }
  return "error";
}

RunStatus status_from_exit_code(int code) {
  for (RunStatus s : {RunStatus::Held, RunStatus::Deviated, RunStatus::Aborted,
                      RunStatus::RevertFailed})
    if (exit_code(s) == code) return s;
  return RunStatus::Error;
}

int loudness(RunStatus s) {
  switch (s) {
    case RunStatus::Held:
      return 0;
    case RunStatus::Deviated:
      return 1;
    case RunStatus::Error:
      return 2;
    case RunStatus::Aborted:
      return 3;
    case RunStatus::RevertFailed:
      return 4;
  }
  return 2;
}

int exit_code(RunStatus s) {
  switch (s) {
    case RunStatus::Held:
      return 0;
    case RunStatus::Deviated:
      return 1;
    case RunStatus::Aborted:
      return 3;
    case RunStatus::Error:
      return 4;
    case RunStatus::RevertFailed:
      return 5;
  }
  return 4;
}

}  // namespace faultline

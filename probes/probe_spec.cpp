#include "probes/probe_spec.h"

namespace faultline {

std::string_view phase_name(Phase p) {
  switch (p) {
    case Phase::Before:
      return "before";
    case Phase::During:
      return "during";
    case Phase::After:
      return "after";
  }
  return "?";
}

}  // namespace faultline

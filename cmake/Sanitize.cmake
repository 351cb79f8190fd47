# FAULTLINE_SANITIZE=address,undefined or thread: an instrumented build for scripts/sanitize.sh.
# Empty (the default) changes nothing. Use its own build directory (build-asan/, build-tsan/):
# instrumented objects must not mix with the default build's.
set(FAULTLINE_SANITIZE "" CACHE STRING
    "Sanitizers to build with, as -fsanitize= takes them: address,undefined or thread")
if(FAULTLINE_SANITIZE)
  string(REPLACE "," ";" _fl_sanitizers "${FAULTLINE_SANITIZE}")
  foreach(s IN LISTS _fl_sanitizers)
    if(NOT s MATCHES "^(address|undefined|thread|leak)$")
      message(FATAL_ERROR "FAULTLINE_SANITIZE: unknown sanitizer '${s}' in '${FAULTLINE_SANITIZE}'; "
                          "use address,undefined or thread")
    endif()
  endforeach()
  if("thread" IN_LIST _fl_sanitizers AND ("address" IN_LIST _fl_sanitizers OR "leak" IN_LIST _fl_sanitizers))
    message(FATAL_ERROR "FAULTLINE_SANITIZE='${FAULTLINE_SANITIZE}': thread cannot be combined "
                        "with address or leak; build them in two directories")
  endif()
  # Frame pointers give the reports whole stacks at -O2.
  set(_fl_flags -fsanitize=${FAULTLINE_SANITIZE} -fno-omit-frame-pointer)
  if("undefined" IN_LIST _fl_sanitizers)
    # Undefined behaviour must fail the test, not print a line and carry on.
    list(APPEND _fl_flags -fno-sanitize-recover=undefined)
  endif()
  add_compile_options(${_fl_flags})
  add_link_options(-fsanitize=${FAULTLINE_SANITIZE})
  message(STATUS "faultline: sanitizers ${FAULTLINE_SANITIZE}")
endif()

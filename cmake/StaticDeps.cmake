# faultline_pkg(<target> <prefix> <modules...>): an INTERFACE target for pkg-config modules.
# With FAULTLINE_STATIC_DEPS their archives are linked in (the libraries from
# `pkg-config --static`, in a group, since abseil's archives refer to each other), with only the
# C and C++ runtimes and zlib left shared; without it, their shared libraries. zlib is
# shared because every Debian system has it (zlib1g is required) and its security updates must
# reach faultline too: lintian refuses a package with an embedded copy (embedded-library).
#
# Why: gRPC alone brings ~55 shared libraries (abseil's in pieces, c-ares, upb, RE2, OpenSSL).
# Each one mapped costs a process its relocated pages and the pages around every function it
# touches, so an idle faultline-agent was 20 MiB of file-backed memory; linked in, only what is
# used is in the binary. Every tool also starts faster with fewer libraries to load.
# The sanitizer and fuzz builds keep them shared: their suppressions name those libraries.
function(faultline_pkg target prefix)
  pkg_check_modules(${prefix} REQUIRED ${ARGN})
  add_library(${target} INTERFACE)
  target_include_directories(${target} SYSTEM INTERFACE ${${prefix}_INCLUDE_DIRS})
  target_compile_options(${target} INTERFACE ${${prefix}_CFLAGS_OTHER})
  if(NOT FAULTLINE_STATIC_DEPS)
    target_link_libraries(${target} INTERFACE ${${prefix}_LINK_LIBRARIES})
    return()
  endif()
  set(archives)
  set(runtime)
  foreach(lib IN LISTS ${prefix}_STATIC_LIBRARIES)
    if(lib MATCHES "^(c|m|dl|rt|pthread|atomic|stdc\\+\\+|gcc_s|z)$")
      list(APPEND runtime ${lib})
    else()
      list(APPEND archives -l${lib})
    endif()
  endforeach()
  list(REMOVE_DUPLICATES archives)
  list(REMOVE_DUPLICATES runtime)
  # Each archive linked in, as a path: the packages' copyright file quotes their licenses
  # (packaging/CMakeLists.txt).
  foreach(lib IN LISTS ${prefix}_STATIC_LIBRARIES)
    if(NOT lib IN_LIST runtime)
      find_library(FAULTLINE_ARCHIVE_${lib} NAMES lib${lib}.a HINTS ${${prefix}_STATIC_LIBRARY_DIRS}
                   NO_CACHE)
      if(FAULTLINE_ARCHIVE_${lib})
        set_property(GLOBAL APPEND PROPERTY FAULTLINE_STATIC_ARCHIVES ${FAULTLINE_ARCHIVE_${lib}})
      endif()
    endif()
  endforeach()
  string(JOIN "," group ${archives})
  target_link_options(${target} INTERFACE ${${prefix}_STATIC_LDFLAGS_OTHER})
  target_link_libraries(${target} INTERFACE
    "-Wl,-Bstatic,--start-group,${group},--end-group,-Bdynamic" ${runtime} Threads::Threads)
endfunction()

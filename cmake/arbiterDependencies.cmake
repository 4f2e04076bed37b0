# Finds Arbiter's dependencies. Shared by the build and the installed
# arbiterConfig.cmake, so a consumer re-finds exactly what the library needs.
# Every lookup defers to a target a parent project already defined.
include(CMakeFindDependencyMacro)

if(NOT TARGET absl::status)
  find_dependency(absl CONFIG)
endif()

if(NOT TARGET protobuf::libprotobuf)
  # Debian's protobuf 3.21 ships no CMake config; CMake's FindProtobuf module
  # provides protobuf::libprotobuf, protobuf::protoc and protobuf_generate.
  find_dependency(Protobuf)
endif()

if(NOT TARGET re2::re2)
  find_package(re2 CONFIG QUIET)
  if(NOT re2_FOUND)
    # Debian's RE2 is pkg-config only.
    find_dependency(PkgConfig)
    pkg_check_modules(ARBITER_RE2 REQUIRED IMPORTED_TARGET re2)
    add_library(re2::re2 INTERFACE IMPORTED)
    target_link_libraries(re2::re2 INTERFACE PkgConfig::ARBITER_RE2)
  endif()
endif()

if(NOT TARGET OpenSSL::Crypto)
  # libcrypto (Debian: libssl-dev): SHA-256 of the audit hash chain and of API
  # keys, Ed25519 signatures of audit checkpoints, constant-time comparison.
  find_dependency(OpenSSL COMPONENTS Crypto)
endif()

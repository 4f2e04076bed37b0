# Configures and installs arbiter.pc (from cmake/arbiter.pc.in) for builds
# that do not use CMake:
#
#   PKG_CONFIG_PATH=/opt/arbiter/lib/pkgconfig \
#     c++ $(pkg-config --cflags arbiter) app.cc $(pkg-config --libs --static arbiter)
#
# The required modules are read from the link libraries of the arbiter and
# arbiter_proto targets, so the file follows target_link_libraries: PUBLIC
# dependencies go to Requires, PRIVATE ones to Requires.private. Debian ships
# a pkg-config module for each of them: absl::foo is absl_foo,
# protobuf::libprotobuf is protobuf, re2::re2 is re2. Header-only (INTERFACE)
# targets need nothing at link time and are left out.

# Appends the pkg-config module (or linker flag) for one link item `item` of
# the arbiter targets to the list variables `<prefix>_MODULES` and
# `<prefix>_FLAGS` in the caller's scope.
function(_arbiter_pc_add item prefix)
  set(modules ${${prefix}_MODULES})
  set(flags ${${prefix}_FLAGS})
  if(item MATCHES "^\\$<INSTALL_INTERFACE:(.*)>$")
    set(item "${CMAKE_MATCH_1}")
  elseif(item MATCHES "^\\$<BUILD_INTERFACE:" OR item STREQUAL "")
    return()
  endif()
  if(item MATCHES "^absl::(.+)$")
    list(APPEND modules "absl_${CMAKE_MATCH_1}")
  elseif(item STREQUAL "protobuf::libprotobuf")
    list(APPEND modules protobuf)
  elseif(item STREQUAL "re2::re2")
    list(APPEND modules re2)
  elseif(item STREQUAL "OpenSSL::Crypto")
    list(APPEND modules libcrypto)
  elseif(item STREQUAL "arbiter::arbiter_proto" OR item STREQUAL "arbiter_proto")
    # -larbiter_proto is in Libs.
  elseif(TARGET ${item})
    get_target_property(type ${item} TYPE)
    if(NOT type STREQUAL "INTERFACE_LIBRARY")
      message(WARNING "arbiter.pc: no pkg-config module is known for the "
                      "link dependency ${item}; add one to "
                      "cmake/arbiterPkgConfig.cmake")
    endif()
  elseif(item MATCHES "^\\$<")
    message(WARNING "arbiter.pc: cannot translate the link item ${item}")
  else()
    list(APPEND flags "${item}")  # -lfoo, -pthread or a library path
  endif()
  set(${prefix}_MODULES ${modules} PARENT_SCOPE)
  set(${prefix}_FLAGS ${flags} PARENT_SCOPE)
endfunction()

function(arbiter_install_pkg_config)
  set(public_items)
  set(all_items)
  foreach(target arbiter arbiter_proto)
    get_target_property(interface ${target} INTERFACE_LINK_LIBRARIES)
    get_target_property(linked ${target} LINK_LIBRARIES)
    foreach(item IN LISTS interface)
      if(NOT item MATCHES "^\\$<LINK_ONLY:")
        list(APPEND public_items "${item}")
      endif()
    endforeach()
    if(linked)
      list(APPEND all_items ${linked})
    endif()
  endforeach()

  set(PUB_MODULES)
  set(PUB_FLAGS)
  foreach(item IN LISTS public_items)
    _arbiter_pc_add("${item}" PUB)
  endforeach()
  set(PRIV_MODULES)
  set(PRIV_FLAGS)
  foreach(item IN LISTS all_items)
    if(NOT item IN_LIST public_items)
      _arbiter_pc_add("${item}" PRIV)
    endif()
  endforeach()
  list(REMOVE_DUPLICATES PUB_MODULES)
  list(REMOVE_DUPLICATES PRIV_MODULES)
  if(PRIV_MODULES AND PUB_MODULES)
    list(REMOVE_ITEM PRIV_MODULES ${PUB_MODULES})
  endif()
  list(JOIN PUB_MODULES " " ARBITER_PC_REQUIRES)
  list(JOIN PRIV_MODULES " " ARBITER_PC_REQUIRES_PRIVATE)
  list(JOIN PRIV_FLAGS " " ARBITER_PC_LIBS_PRIVATE)
  if(PUB_FLAGS)
    # Public plain flags are rare; a static consumer needs them either way.
    list(JOIN PUB_FLAGS " " pub_flags)
    string(PREPEND ARBITER_PC_LIBS_PRIVATE "${pub_flags} ")
  endif()

  # Relative to the .pc file when the install directories are relative to
  # the prefix, so that `cmake --install --prefix DIR` and a moved tree
  # both work.
  set(pc_dir "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
  if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
    set(ARBITER_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
    set(ARBITER_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
  else()
    file(RELATIVE_PATH up "/${pc_dir}" "/")
    string(REGEX REPLACE "/$" "" up "${up}")
    set(ARBITER_PC_PREFIX "\${pcfiledir}/${up}")
    set(ARBITER_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  endif()
  if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
    set(ARBITER_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
  else()
    set(ARBITER_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
  endif()

  configure_file(${PROJECT_SOURCE_DIR}/cmake/arbiter.pc.in
                 ${PROJECT_BINARY_DIR}/arbiter.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/arbiter.pc DESTINATION ${pc_dir})
endfunction()

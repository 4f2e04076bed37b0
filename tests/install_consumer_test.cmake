# Builds a tiny outside program (examples/install_test) against Arbiter in the
# three ways a consumer can find it, and runs each:
#   1. cmake --install into a scratch prefix, then find_package(arbiter CONFIG
#      REQUIRED) with CMAKE_PREFIX_PATH=<prefix>;
#   2. the same prefix with pkg-config only, no CMake:
#        c++ $(pkg-config --cflags arbiter) consumer.cc \
#            $(pkg-config --libs --static arbiter)
#   3. find_package against the build tree, not installed: arbiter_DIR=<build>.
#
# -D variables: ARBITER_BINARY_DIR, ARBITER_SOURCE_DIR, WORK_DIR, GENERATOR,
# CXX (the C++ compiler), PKG_CONFIG (pkg-config), INSTALL_LIBDIR and
# INSTALL_INCLUDEDIR (CMAKE_INSTALL_LIBDIR / _INCLUDEDIR).

# Runs a command (options of execute_process, e.g. WORKING_DIRECTORY, may
# follow it); fails with its output unless it exits 0. Sets `out`.
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
endfunction()

# Fails unless the consumer in build directory `dir` links the libarbiter
# of `libdir` (and so found the package meant, not another one).
function(expect_linked dir libdir)
  if(EXISTS ${dir}/build.ninja)
    file(READ ${dir}/build.ninja rules)
  else()
    file(READ ${dir}/CMakeFiles/consumer.dir/link.txt rules)
  endif()
  string(FIND "${rules}" "${libdir}/libarbiter." at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the consumer in ${dir} does not link ${libdir}/libarbiter")
  endif()
endfunction()

# Runs the consumer binary `exe`, which exits non-zero on a wrong decision.
function(run_consumer what exe)
  run("${what}: running the consumer" ${exe})
  if(NOT out MATCHES "^consumer: ALLOW")
    message(FATAL_ERROR "${what}: unexpected output: ${out}")
  endif()
  message(STATUS "${what}: ${out}")
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
set(consumer_src ${ARBITER_SOURCE_DIR}/examples/install_test)

# ---- 1. Installed package, find_package ------------------------------------
run("cmake --install" ${CMAKE_COMMAND} --install ${ARBITER_BINARY_DIR}
    --prefix ${prefix})

# Every generated header is installed next to the hand-written ones.
file(GLOB_RECURSE protos RELATIVE ${ARBITER_SOURCE_DIR}/proto
     ${ARBITER_SOURCE_DIR}/proto/*.proto)
if(NOT protos)
  message(FATAL_ERROR "no .proto files under ${ARBITER_SOURCE_DIR}/proto")
endif()
foreach(proto IN LISTS protos)
  string(REGEX REPLACE "\\.proto$" ".pb.h" header ${proto})
  if(NOT EXISTS ${prefix}/${INSTALL_INCLUDEDIR}/${header})
    message(FATAL_ERROR "${header} is not installed under ${prefix}/${INSTALL_INCLUDEDIR}")
  endif()
endforeach()

run("configuring the consumer (installed)" ${CMAKE_COMMAND}
    -S ${consumer_src} -B ${WORK_DIR}/build -G ${GENERATOR}
    -DCMAKE_PREFIX_PATH=${prefix})
run("building the consumer (installed)" ${CMAKE_COMMAND} --build ${WORK_DIR}/build)
expect_linked(${WORK_DIR}/build ${prefix}/${INSTALL_LIBDIR})
run_consumer("find_package, installed" ${WORK_DIR}/build/consumer)

# ---- 2. Installed package, pkg-config only ---------------------------------
set(pc_path ${prefix}/${INSTALL_LIBDIR}/pkgconfig)
if(NOT EXISTS ${pc_path}/arbiter.pc)
  message(FATAL_ERROR "arbiter.pc is not installed in ${pc_path}")
endif()
# The flags come from the scratch prefix, never from the source or build tree.
run("pkg-config --cflags" ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pc_path}
    ${PKG_CONFIG} --cflags arbiter)
set(cflags "${out}")
string(FIND "${cflags}" "-I${prefix}/" in_prefix)
string(FIND "${cflags}" "${ARBITER_SOURCE_DIR}/include" in_source)
string(FIND "${cflags}" "${ARBITER_BINARY_DIR}/proto" in_build)
if(in_prefix EQUAL -1 OR NOT in_source EQUAL -1 OR NOT in_build EQUAL -1)
  message(FATAL_ERROR "pkg-config --cflags arbiter: unexpected ${cflags}")
endif()
# Exactly the command of the README, run by the shell.
file(COPY ${consumer_src}/consumer.cc DESTINATION ${WORK_DIR}/pkg-config)
run("building the consumer with pkg-config"
    ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pc_path} PKG_CONFIG=${PKG_CONFIG}
    CXX=${CXX}
    sh -c [["$CXX" $("$PKG_CONFIG" --cflags arbiter) consumer.cc $("$PKG_CONFIG" --libs --static arbiter) -o consumer]]
    WORKING_DIRECTORY ${WORK_DIR}/pkg-config)
run_consumer("pkg-config" ${WORK_DIR}/pkg-config/consumer)

# ---- 3. The build tree, not installed --------------------------------------
run("configuring the consumer (build tree)" ${CMAKE_COMMAND}
    -S ${consumer_src} -B ${WORK_DIR}/build-tree -G ${GENERATOR}
    -Darbiter_DIR=${ARBITER_BINARY_DIR})
run("building the consumer (build tree)" ${CMAKE_COMMAND} --build
    ${WORK_DIR}/build-tree)
expect_linked(${WORK_DIR}/build-tree ${ARBITER_BINARY_DIR})
run_consumer("find_package, build tree" ${WORK_DIR}/build-tree/consumer)

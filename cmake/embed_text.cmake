# Usage: cmake -DINPUT=<file> -DOUTPUT=<file> -P embed_text.cmake
# Wraps a text file in a C++ raw string literal, to be #included as the
# initializer of a char array. Bazel's genrule does the same (BUILD.bazel).
file(READ "${INPUT}" content)
string(FIND "${content}" ")arbiter\"" bad)
if(NOT bad EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter")
endif()
file(WRITE "${OUTPUT}.tmp" "R\"arbiter(${content})arbiter\"\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")

#!/usr/bin/env bash
# Runs README.md's examples the way a reader would, word for word (the
# `readme_examples` test, registered by examples/CMakeLists.txt):
#
#  1. "Using the library": the ```cpp block is examples/using_the_library.cc
#     from its first #include on, and the built program prints the decision
#     that its `// Prints ...` comment promises.
#  2. examples/org.textproto is the demo organization, as
#     `arbiter demo --source` prints it.
#  3. "Command line" and "Administration from the command line": every
#     command of each ```sh block, in order, run by bash from a scratch copy
#     of the repository root (examples/ and build/tools/arbiter) with a PATH
#     that holds no arbiter. A `#   text` line under a command is output it
#     must print ("..." matches anything). A command must exit 0, or 1 (a
#     DENY, a refusal, a BLOCK) when it uses --demo or promises such output.
#  4. "Changing the policy" (when DURABLE_STORE, the built example, is
#     given): the ```cpp block is examples/durable_store.cc from its first
#     #include on; run twice in a scratch directory, the first run prints
#     what its `// Prints ...` comments promise, in order, and the second run
#     recovers the store (revision 3).
#
# Usage: readme_test.sh SOURCE_DIR ARBITER USING_THE_LIBRARY WORK_DIR [DURABLE_STORE]
set -euo pipefail
src=$1
arbiter=$(readlink -f "$2")
example=$(readlink -f "$3")
work=$4
durable=${5:+$(readlink -f "$5")}

fail() {
  printf 'FAIL: %s\n' "$1" >&2
  shift
  (($# == 0)) || printf '      %s\n' "$@" >&2
  exit 1
}

# The first ```LANG block after the line HEADING of README.md.
readme_block() {
  awk -v heading="$1" -v fence='```'"$2" '
    $0 == heading { in_section = 1; next }
    in_section && !in_block && $0 == fence { in_block = 1; next }
    in_block && $0 == "```" { found = 1; exit }
    in_block { print }
    END { if (!found) exit 1 }' "$src/README.md"
}

# contains TEXT EXPECTED: EXPECTED occurs in TEXT, "..." matching anything.
contains() {
  local rest=$1 expected=$2 piece
  while :; do
    piece=${expected%%...*}
    [[ $rest == *"$piece"* ]] || return 1
    rest=${rest#*"$piece"}
    [[ $expected == *...* ]] || return 0
    expected=${expected#*...}
  done
}

# ---- 1. The C++ example ----------------------------------------------------
cpp=$(readme_block "## Using the library" cpp) ||
  fail "README.md: no \`\`\`cpp block under \"## Using the library\""
file=$(sed -n '/^#include/,$p' "$src/examples/using_the_library.cc")
if [[ $cpp != "$file" ]]; then
  diff <(printf '%s\n' "$cpp") <(printf '%s\n' "$file") >&2 || true
  fail "README.md's C++ example differs from examples/using_the_library.cc" \
    "(from its first #include; < README, > file)"
fi
promised=$(sed -n 's|^ *// Prints \(.*\)$|\1|p' "$src/examples/using_the_library.cc")
[[ -n $promised ]] || fail "examples/using_the_library.cc: no '// Prints' comment"
out=$("$example") || fail "using_the_library exited with $?"
[[ $(head -n 1 <<<"$out") == "$promised" ]] ||
  fail "using_the_library printed '$(head -n 1 <<<"$out")', not '$promised'"
echo "ok: README C++ example = examples/using_the_library.cc; it prints: $promised"

# ---- 2. examples/org.textproto ---------------------------------------------
if ! diff <("$arbiter" demo --source) "$src/examples/org.textproto" >&2; then
  fail "examples/org.textproto is not 'arbiter demo --source'; regenerate it:" \
    "build/tools/arbiter demo --source > examples/org.textproto"
fi
echo "ok: examples/org.textproto = arbiter demo --source"

# ---- 3. The command-line examples ------------------------------------------
rm -rf "$work"
mkdir -p "$work/build/tools"
cp -R "$src/examples" "$work/examples"
ln -s "$arbiter" "$work/build/tools/arbiter"

# run_block HEADING: runs the ```sh block under HEADING, in $work.
run_block() {
  local heading=$1 commands line cmd out rc expected prelude="" i
  commands=$(readme_block "$heading" sh) ||
    fail "README.md: no \`\`\`sh block under \"$heading\""
  local cmds=() expects=()
  while IFS= read -r line; do
    if [[ $line =~ ^#\ \ \ (.*)$ ]]; then
      ((${#cmds[@]})) || fail "README.md: expected output before any command: $line"
      expects[${#cmds[@]} - 1]+="${BASH_REMATCH[1]}"$'\n'
    elif [[ -n $line && $line != \#* ]]; then
      cmds+=("$line")
      expects+=("")
    fi
  done <<<"$commands"
  ((${#cmds[@]} > 0)) || fail "README.md: the \"$heading\" block has no commands"
  for i in "${!cmds[@]}"; do
    cmd=${cmds[$i]}
    [[ $cmd == export\ * ]] && prelude+="$cmd"$'\n'
    set +e
    out=$(cd "$work" && env -i HOME="$work" PATH=/usr/bin:/bin \
      bash -c "set -e"$'\n'"$prelude$cmd" 2>"$work/stderr")
    rc=$?
    set -e
    if ((rc != 0)) && ! [[ $rc == 1 && ($cmd == *--demo* ||
      ${expects[$i]} =~ (DENY|refused|BLOCK)) ]]; then
      cat "$work/stderr" >&2
      fail "README command exited with $rc: $cmd"
    fi
    while IFS= read -r expected; do
      [[ -n $expected ]] || continue
      contains "$out" "$expected" ||
        fail "README command: $cmd" "printed: $out" "not: $expected"
    done <<<"${expects[$i]}"
    echo "ok ($rc): $cmd"
  done
}

run_block "## Command line"
# The query stream was decided in full, one answer a line.
requests=$(grep -c . "$work/examples/requests.jsonl")
if [[ -f $work/decisions.jsonl ]]; then
  answers=$(grep -c '"effect":' "$work/decisions.jsonl" || true)
  ((answers == requests)) ||
    fail "decisions.jsonl: $answers answers to $requests requests"
fi
echo "ok: every README command-line example works as written"

# ---- 4. The store: administration and the durable store example -----------
if [[ -z $durable ]]; then
  echo "skip: \"Administration from the command line\" and \"Changing the policy\"" \
    "(built without the store)"
  exit 0
fi
run_block "## Administration from the command line"
echo "ok: every README administration example works as written"

cpp=$(readme_block "## Changing the policy" cpp) ||
  fail "README.md: no \`\`\`cpp block under \"## Changing the policy\""
file=$(sed -n '/^#include/,$p' "$src/examples/durable_store.cc")
if [[ $cpp != "$file" ]]; then
  diff <(printf '%s\n' "$cpp") <(printf '%s\n' "$file") >&2 || true
  fail "README.md's store example differs from examples/durable_store.cc" \
    "(from its first #include; < README, > file)"
fi
mapfile -t promised < <(sed -n 's|^ *// Prints \(.*\)$|\1|p' "$src/examples/durable_store.cc")
((${#promised[@]} > 0)) || fail "examples/durable_store.cc: no '// Prints' comment"
rm -rf "$work/acme-store"
out=$(cd "$work" && "$durable" acme-store) || fail "durable_store exited with $?"
mapfile -t lines <<<"$out"
for i in "${!promised[@]}"; do
  contains "${lines[$i]:-}" "${promised[$i]}" ||
    fail "durable_store printed '${lines[$i]:-}', not '${promised[$i]}'"
done
out=$(cd "$work" && "$durable" acme-store) || fail "durable_store (again) exited with $?"
contains "$out" "revision 3: ALLOW GRANT ... revision=3" ||
  fail "durable_store, run again, did not continue the store: $out"
echo "ok: README store example = examples/durable_store.cc; it prints what it promises, twice"

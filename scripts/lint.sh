#!/usr/bin/env bash
# lint.sh: banned functions, clang-format conformance and cppcheck over src/ and tests/.
# Exits non-zero on the first category that finds anything, after printing every finding.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
fail=0

# 1. Banned functions (word-boundary match, comments included on purpose: do not mention them).
banned='\b(strcpy|stpcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll|strtok|tmpnam|mktemp)[[:space:]]*\('
if hits=$(grep -rnE "$banned" src tests bench --include='*.c' --include='*.h'); then
  echo "lint: banned functions:"; echo "$hits"; fail=1
fi
# Parsers of untrusted bytes use the reader: no raw memcpy in src/evidence/.
if [ -d src/evidence ] && hits=$(grep -rnE '\bmemcpy[[:space:]]*\(' src/evidence); then
  echo "lint: raw memcpy in src/evidence (use sb_reader_copy):"; echo "$hits"; fail=1
fi

# 2. clang-format (the project's .clang-format).
if command -v clang-format >/dev/null; then
  mapfile -t files < <(git ls-files -co --exclude-standard 'src/*.c' 'src/*.h' 'tests/*.c' 'tests/*.h' 'bench/*.c' 2>/dev/null || find src tests bench -name '*.[ch]')
  bad=()
  for f in "${files[@]}"; do
    [ -f "$f" ] || continue
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
  done
  if [ ${#bad[@]} -gt 0 ]; then
    echo "lint: not clang-formatted (run 'make format'):"; printf '  %s\n' "${bad[@]}"; fail=1
  fi
else
  echo "lint: clang-format missing (scripts/deps.sh installs it)"; fail=1
fi

# 3. cppcheck.
if command -v cppcheck >/dev/null; then
  if ! out=$(cppcheck -j "$(nproc)" --quiet --error-exitcode=1 --std=c11 --inline-suppr \
      --enable=warning,portability --suppress=missingIncludeSystem \
      -D__GNUC__ -I src src 2>&1); then
    echo "lint: cppcheck:"; echo "$out"; fail=1
  fi
else
  echo "lint: cppcheck missing (scripts/deps.sh installs it)"; fail=1
fi

[ $fail -eq 0 ] && echo "lint: clean"
exit $fail

#!/usr/bin/env bash
# Fails (exit 1) when a tracked C++ file differs from what clang-format makes of it with the
# repository's .clang-format, and names the files. Run by CI (.ci/run) and as the ctest entry
# `clang_format`; `clang-format -i FILE` fixes one.
set -euo pipefail
cd "$(dirname "$0")/.."
clang_format=${CLANG_FORMAT:-clang-format}
mapfile -t files < <(git ls-files '*.cc' '*.h')
bad=()
for file in "${files[@]}"; do
  [ -f "$file" ] || continue
  if ! "$clang_format" --style=file "$file" | cmp -s - "$file"; then bad+=("$file"); fi
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "not formatted with clang-format (run clang-format -i on them):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "clang-format: ${#files[@]} files formatted"

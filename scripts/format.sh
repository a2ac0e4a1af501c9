#!/usr/bin/env bash
# format.sh: the project's C files in the one style of .clang-format.
#   scripts/format.sh           reformat them in place
#   scripts/format.sh --check   change nothing; list the files that differ and fail
# Debian 12's clang-format (14) is the reference: another version may break
# lines differently.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files -co --exclude-standard '*.c' '*.h' 2>/dev/null ||
                     find common services cli tests bench -name '*.[ch]')
if [ "${1:-}" != --check ]; then
    clang-format -i "${files[@]}"
    exit 0
fi
bad=()
for f in "${files[@]}"; do
    [ -e "$f" ] || continue
    clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
    printf 'not in the style of .clang-format (run scripts/format.sh):\n' >&2
    printf '  %s\n' "${bad[@]}" >&2
    exit 1
fi
echo "format: ${#files[@]} files in the style of .clang-format"

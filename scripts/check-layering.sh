#!/usr/bin/env bash
# check-layering.sh: the include rules of docs/DESIGN.md ("Layout"), checked (part of `make lint`).
#
#   common/            includes only common/
#   cgroup/, netns/    include only common/ and themselves
#   launcher/node/     (the node's PID 1) never includes launcher/cli/
#   launcher/services/ includes, of the launcher's folders, only launcher/config/ and itself
#   *_internal.h       is included only by the files of its own module
# Prints each include that breaks a rule, exits 1 if there is one.
set -uo pipefail
cd "$(dirname "$0")/.."
bad=0
includes() { grep -Ho '^#include "[^"]*"' "$@" 2>/dev/null | sed 's/:#include "/ /; s/"$//'; }
report() { echo "layering: $1 includes $2 ($3)"; bad=1; }

while read -r file header; do
  case "$file" in
    common/*) [[ $header == common/* ]] || report "$file" "$header" "common/ is the bottom layer" ;;
    cgroup/* | netns/*)
      [[ $header == common/* || $header == "${file%%/*}"/* ]] ||
        report "$file" "$header" "${file%%/*}/ includes only common/ and itself" ;;
    launcher/node/*) [[ $header != launcher/cli/* ]] || report "$file" "$header" "the node init never includes the CLI" ;;
    launcher/services/*)
      if [[ $header == launcher/* && $header != launcher/services/* && $header != launcher/config/* ]]; then
        report "$file" "$header" "services/ includes only config/ of the launcher's folders"
      fi ;;
  esac
  if [[ $header == *_internal.h ]]; then
    module=$(basename "$header" _internal.h)
    [[ $(dirname "$file") == $(dirname "$header") && $(basename "$file") == "$module"* ]] ||
      report "$file" "$header" "an _internal.h belongs to its module's files only"
  fi
done < <(includes common/*.[ch] cgroup/*.[ch] netns/*.[ch] launcher/*.[ch] launcher/*/*.[ch] tests/unit/*.c tests/helpers/*.c)
exit $bad

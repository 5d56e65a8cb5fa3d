# lib.sh: sourced by the benchmarks. Each benchmark prints table rows:
#   | benchmark | usernode | TOOL | usernode / TOOL |
# and runs as an ordinary user (scripts/bench/run.sh arranges that when invoked as root).

: "${USERNODE:?run through scripts/bench/run.sh (make bench)}"
: "${USERNODE_HELPERS:?run through scripts/bench/run.sh (make bench)}"

# row NAME OURS THEIRS UNIT TOOL [lower|higher]: one table row with the ratio ours/theirs.
row() {
  local name=$1 ours=$2 theirs=$3 unit=$4 tool=$5 better=${6:-lower}
  local ratio
  ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
  printf '| %s | %s %s | %s %s (%s) | %s x (%s is better) |\n' "$name" "$ours" "$unit" "$theirs" "$unit" "$tool" "$ratio" "$better"
}

bench_tmp() {
  mktemp -d "${TMPDIR:-/tmp}/usernode-bench.XXXXXX"
}

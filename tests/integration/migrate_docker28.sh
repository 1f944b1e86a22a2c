# Docker 28.5 (forky's) on the bed's edges, on beds of its own (docker_pairs_lib.sh): a
# counter moves from 28.5 to 20.10 and counts on; from 20.10 to 28.5 the destination
# refuses before the freeze with the reason (Docker 27+ cannot restore a container with a
# network), and the source runs on unfrozen; between two 28.5 edges a networkless
# counter moves and a networked one is refused. docs/design.md lists the whole matrix.
pairs_first_bed=(20.10 28.5)
source "$(dirname "$0")/docker_pairs_lib.sh"

# expect_pair FROM TO KIND OUTCOME [TEXT]: try_pair gives OUTCOME, its detail with TEXT.
expect_pair() {
  try_pair "$1" "$2" "$3"
  [ "$pair_outcome" = "$4" ] || fail "$(release_of "$1") -> $(release_of "$2") $3: $pair_outcome, expected $4 ($pair_detail)"
  [ -z "${5:-}" ] || grep -qF -- "$5" <<<"$pair_detail" || fail "the reason does not name \`$5\`: $pair_detail"
}

step "edge-a 20.10, edge-b 28.5"
expect_pair edge-b edge-a bridge migrated
expect_pair edge-a edge-b bridge refused "/proc/0/ns/net"
expect_pair edge-a edge-b networkless refused "source's Docker 20.10"
step "edge-a 28.5, edge-b 28.5"
next_bed 28.5 28.5
expect_pair edge-a edge-b networkless migrated
expect_pair edge-b edge-a bridge refused "Docker 28.5"
pass "28.5 -> 20.10 and networkless 28.5 -> 28.5 migrate; the rest is refused before the freeze"

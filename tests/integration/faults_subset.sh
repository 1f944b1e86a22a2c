# The fault matrix's CI subset (tools/faults/run runs all of it): a crash of `dockmig
# migrate` before the final sync and before the commit, a crash of the destination agent
# before the restore and after it committed, the link dropped while the first blob
# crosses, a kill -9 of the agent running a handoff's source side in the final sync and
# after the destination committed, the destination's disk full in the final sync, and a
# byte of a final-sync blob damaged on the link. Each cell must end with one running copy whose counter went on, or with none
# and `dockmig recover` naming why, and leave nothing behind. The table and each cell's
# logs stay in faults-subset/ of the dir ctest runs it in.
set -euo pipefail
exec "$(dirname "$0")/../../tools/faults/run" --on-running-bed --out "$PWD/faults-subset" \
  source.before-finalsync=crash source.before-confirm=crash \
  destination.before-restore=crash destination.before-committed-reply=crash \
  transfer.blob-first-chunk-sent=drop-link \
  source.before-finalsync=kill-source-agent source.before-record-commit=kill-source-agent \
  destination.before-finalsync=disk-full transfer.finalsync-first-chunk-sending=corrupt

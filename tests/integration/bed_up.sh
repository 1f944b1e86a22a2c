# Fixture: brings the test bed up (replacing any leftover bed) at the default 5 Mbit/s.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: the test bed needs root" >&2
  exit 77
fi
"$TESTBED" up --rate 5mbit

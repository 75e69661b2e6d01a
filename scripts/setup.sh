# Source me: Node >= 22.19 on PATH (scripts/env.sh) and dependencies installed exactly as locked.
# `npm ci` runs only when package-lock.json changed since the last install in this checkout.
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
dca_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dca_stamp="$dca_root/node_modules/.dca-lock-stamp"
dca_lock_hash="$(sha256sum "$dca_root/package-lock.json" | cut -d' ' -f1)-$(node --version)"
if [ ! -f "$dca_stamp" ] || [ "$(cat "$dca_stamp")" != "$dca_lock_hash" ]; then
  (cd "$dca_root" && npm ci --no-audit --no-fund) || return 1 2>/dev/null || exit 1
  printf '%s' "$dca_lock_hash" > "$dca_stamp"
fi
unset dca_root dca_stamp dca_lock_hash

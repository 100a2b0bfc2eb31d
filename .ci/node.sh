# Sourced by .ci/lint-spec and .ci/browser: installs the Node tools pinned in .ci/package.json
# and .ci/package-lock.json (npm ci, so the lock is the truth) into target/ci-node, once per
# change of the lock file, and sets $node_modules to their folder.
command -v npm >/dev/null || { echo "CI needs Node.js 20 or later with npm (apt-get install nodejs npm)" >&2; exit 1; }
node_dir=target/ci-node
node_modules="$PWD/$node_dir/node_modules"
if ! cmp -s .ci/package-lock.json "$node_dir/package-lock.json" || [[ ! -d "$node_modules" ]]; then
  rm -rf "$node_dir"
  mkdir -p "$node_dir"
  cp .ci/package.json .ci/package-lock.json "$node_dir/"
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

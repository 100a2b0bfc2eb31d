#!/usr/bin/env bash
# Times the quote PDF renderer (a pure function, no server, no database) in a release build.
# Usage: bench/pdf/run.sh [ITERATIONS] [OUTPUT_DIR]
#   ITERATIONS  renders per document size (default 500)
#   OUTPUT_DIR  if given, the 3-line and 200-line PDFs are written there (quote-3.pdf, quote-200.pdf)
#               and, when pdftoppm (poppler-utils) is installed, their first pages as PNG at 80 dpi.
set -euo pipefail
cd "$(dirname "$0")/../.."
iterations="${1:-500}"
args=(--iterations "$iterations")
if [[ $# -ge 2 ]]; then
  mkdir -p "$2"
  args+=(--write "$2")
fi
cargo run --quiet --release --example quote_pdf_bench -- "${args[@]}"
if [[ $# -ge 2 ]] && command -v pdftoppm >/dev/null; then
  pdftoppm -png -r 80 -f 1 -l 1 "$2/quote-3.pdf" "$2/quote-3"
  pdftoppm -png -r 80 -f 1 -l 2 "$2/quote-200.pdf" "$2/quote-200"
  echo "PNG previews in $2"
fi

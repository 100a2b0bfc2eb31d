//! Fingerprints the migrations this build embeds (`SALESFUNNEL_MIGRATIONS_HASH`), so that the
//! test harness names its template database after the migrations a test binary really runs,
//! not after whatever is on disk when it runs.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    let mut hasher = DefaultHasher::new();
    let mut dirs: Vec<_> = std::fs::read_dir(Path::new("migrations"))
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    dirs.sort();
    for dir in dirs {
        dir.file_name().hash(&mut hasher);
        for file in ["up.sql", "down.sql"] {
            std::fs::read(dir.join(file)).unwrap_or_default().hash(&mut hasher);
        }
    }
    println!("cargo:rustc-env=SALESFUNNEL_MIGRATIONS_HASH={:016x}", hasher.finish());
}

//! The house rules of ARCHITECTURE.md that a machine can check: small files, stores that do not
//! import their routes, a domain without the platform, and the one list of contact kinds.

use std::fs;
use std::path::{Path, PathBuf};

use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use salesfunnel::domain::activity::ActivityKind;

use crate::helpers::TestDatabase;

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The `use` lines of a file, outside its `#[cfg(test)]` module (tests may reach anywhere).
fn uses(path: &Path) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap();
    let production = text.split("#[cfg(test)]").next().unwrap_or_default();
    let mut lines = Vec::new();
    let mut current = String::new();
    for line in production.lines() {
        let line = line.trim();
        if current.is_empty() && !(line.starts_with("use ") || line.starts_with("pub use ")) {
            continue;
        }
        current.push_str(line);
        if line.ends_with(';') {
            lines.push(std::mem::take(&mut current));
        }
    }
    lines
}

#[test]
fn no_source_file_but_the_schema_and_test_modules_is_over_500_lines() {
    let long: Vec<String> = sources(&src())
        .into_iter()
        .filter(|path| !path.ends_with("schema.rs") && !path.ends_with("tests.rs"))
        .filter_map(|path| {
            let lines = fs::read_to_string(&path).unwrap().lines().count();
            (lines > 500).then(|| format!("{} ({lines} lines)", path.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these by job: {long:?}");
}

#[test]
fn no_store_change_or_view_imports_routes() {
    let offending: Vec<String> = sources(&src())
        .into_iter()
        .filter(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            matches!(
                name,
                "store.rs" | "changes.rs" | "view.rs" | "moves.rs" | "events.rs" | "derive.rs"
            )
        })
        .flat_map(|path| {
            uses(&path)
                .into_iter()
                .filter(|line| line.contains("routes"))
                .map(move |line| format!("{}: {line}", path.display()))
        })
        .collect();
    assert!(
        offending.is_empty(),
        "the routes import the store, not back: {offending:?}"
    );
}

#[test]
fn the_domain_depends_on_nothing_of_the_platform() {
    let offending: Vec<String> = sources(&src().join("domain"))
        .into_iter()
        .flat_map(|path| {
            uses(&path)
                .into_iter()
                .filter(|line| line.contains("crate::") && !line.contains("crate::domain"))
                .map(move |line| format!("{}: {line}", path.display()))
        })
        .collect();
    assert!(offending.is_empty(), "domain/ holds rules without I/O: {offending:?}");
}

#[derive(QueryableByName)]
struct Predicate {
    #[diesel(sql_type = Text)]
    predicate: String,
}

/// The partial index that finds an opportunity's latest contact must cover exactly the kinds
/// the domain calls contacts, or the refresh would not use it (or would count others).
#[tokio::test]
async fn the_contact_index_covers_exactly_the_contact_kinds() {
    let db = TestDatabase::new();
    let mut conn = db.connect_async().await;
    let index: Predicate = diesel::sql_query(
        "SELECT pg_get_expr(i.indpred, i.indrelid) AS predicate FROM pg_index i \
         WHERE i.indexrelid = 'activities_contact_idx'::regclass",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    for kind in ActivityKind::ALL {
        let listed = index.predicate.contains(&format!("'{}'::text", kind.as_str()));
        assert_eq!(listed, kind.is_contact(), "{kind} in {}", index.predicate);
    }
}

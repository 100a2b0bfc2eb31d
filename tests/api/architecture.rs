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

/// The module a file is (`opportunities/store`), and the modules its code outside tests names
/// (`crate::a::b…` and `super::x`, resolved to the longest module that has a file).
fn module_graph() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let root = src();
    let is_module = |name: &str| root.join(format!("{name}.rs")).exists() || root.join(name).join("mod.rs").exists();
    let mut graph = std::collections::BTreeMap::new();
    for path in sources(&root) {
        let relative = path.strip_prefix(&root).unwrap().with_extension("");
        let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        if parts.last().is_some_and(|p| p == "mod" || p == "lib" || p == "main") {
            parts.pop();
        }
        let me = parts.join("/");
        let text = fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let mut targets = std::collections::BTreeSet::new();
        for (prefix, base) in [
            ("crate::", Vec::new()),
            ("super::", parts[..parts.len().saturating_sub(1)].to_vec()),
        ] {
            for (at, _) in code.match_indices(prefix) {
                let rest = &code[at + prefix.len()..];
                let path: Vec<&str> = rest
                    .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                    .next()
                    .unwrap_or_default()
                    .split("::")
                    .take_while(|s| s.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
                    .collect();
                let mut best = None;
                for n in 1..=path.len() {
                    let candidate = base
                        .iter()
                        .map(String::as_str)
                        .chain(path[..n].iter().copied())
                        .collect::<Vec<_>>()
                        .join("/");
                    if is_module(&candidate) {
                        best = Some(candidate);
                    }
                }
                if let Some(target) = best.filter(|t| *t != me && !me.starts_with(&format!("{t}/"))) {
                    targets.insert(target);
                }
            }
        }
        graph.insert(me, targets);
    }
    graph
}

/// A file may use a file that uses it only by going around the layers: such cycles make a
/// module impossible to read (or move) on its own, so there are none.
#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let graph = module_graph();
    // Depth-first search with colours; a grey target is a cycle.
    fn visit<'a>(
        node: &'a str,
        graph: &'a std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        colour: &mut std::collections::HashMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
        cycles: &mut Vec<String>,
    ) {
        colour.insert(node, 1);
        stack.push(node);
        for next in graph.get(node).into_iter().flatten() {
            match colour.get(next.as_str()) {
                Some(1) => {
                    let from = stack.iter().position(|n| *n == next).unwrap_or(0);
                    cycles.push(format!("{} → {next}", stack[from..].join(" → ")));
                }
                Some(_) => {}
                None => visit(next, graph, colour, stack, cycles),
            }
        }
        stack.pop();
        colour.insert(node, 2);
    }
    let (mut colour, mut stack, mut cycles) = (std::collections::HashMap::new(), Vec::new(), Vec::new());
    for node in graph.keys() {
        if !colour.contains_key(node.as_str()) {
            visit(node, &graph, &mut colour, &mut stack, &mut cycles);
        }
    }
    assert!(
        graph.len() > 100 && graph["quotes/changes"].contains("opportunities/changes"),
        "{graph:?}"
    );
    assert!(cycles.is_empty(), "import cycles: {cycles:#?}");
}

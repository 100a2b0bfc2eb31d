use diesel::prelude::*;
use diesel_migrations::MigrationHarness;
use salesfunnel::db::MIGRATIONS;

use crate::helpers::TestDatabase;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn table_count(conn: &mut salesfunnel::db::SyncConn) -> i64 {
    diesel::sql_query("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'")
        .get_result::<Count>(conn)
        .unwrap()
        .n
}

#[test]
fn migrations_run_up_down_and_up_again() {
    let db = TestDatabase::new();
    let mut conn = db.connect();
    let migrated = table_count(&mut conn);
    assert!(migrated >= 3, "the template is migrated");
    conn.revert_all_migrations(MIGRATIONS).unwrap();
    assert_eq!(table_count(&mut conn), 0, "down removes every table");
    conn.run_pending_migrations(MIGRATIONS).unwrap();
    assert_eq!(table_count(&mut conn), migrated, "up again restores them");
}

#[test]
fn replicas_starting_together_on_an_empty_database_all_migrate() {
    for round in 0..2 {
        let db = TestDatabase::empty();
        let migrators: Vec<_> = (0..4)
            .map(|_| {
                std::process::Command::new(env!("CARGO_BIN_EXE_salesfunnel"))
                    .arg("migrate")
                    .env("DATABASE_URL", &db.url)
                    .env("JWT_SECRET", std::str::from_utf8(crate::helpers::SECRET).unwrap())
                    .env("RUST_LOG", "error")
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outputs: Vec<_> = migrators.into_iter().map(|m| m.wait_with_output().unwrap()).collect();
        for output in &outputs {
            assert!(
                output.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        // One of them applied every migration, the others none.
        let applied: Vec<String> = outputs
            .iter()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .collect();
        assert_eq!(
            applied
                .iter()
                .filter(|a| a.as_str() == "applied 0 migration(s)")
                .count(),
            3,
            "{applied:?}"
        );
        assert!(table_count(&mut db.connect()) >= 3);
    }
}

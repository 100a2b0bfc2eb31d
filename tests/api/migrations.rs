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

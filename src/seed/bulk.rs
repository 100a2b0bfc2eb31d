//! Bulk data for benchmarks: business partners, and opportunities with lines, activities and
//! stage history spread over the last two years.
//!
//! Opportunities are drafted on a thread of their own (see `plan`) while this one inserts the
//! previous batch, all in one transaction. A large load drops the secondary indexes and foreign
//! keys of the four tables it fills inside that transaction and creates them again from their
//! own definitions at its end: one index build from all rows and one join per reference cost a
//! fraction of updating twenty indexes and firing fifteen reference triggers for every row.

use super::copy::Batch;
use std::time::Instant;

use diesel::prelude::*;
use diesel::sql_types::{Array, Text};
use diesel_async::{AsyncConnection, RunQueryDsl};
use rand::Rng;
use rand::seq::IndexedRandom;

use super::demo_id;
use super::draft;
use super::plan::Plan;
use super::rows::{Counts, Existing};
use crate::db::Conn;
use crate::error::AppError;
use crate::ids::{PartnerId, UserId};
use crate::partners::changes::NewPartner;
use crate::partners::store::PartnerKind;
use crate::schema::business_partners;

const PARTNER_BATCH: usize = 4000;

/// Opportunities per batch (with about 1.5 lines, 2.5 activities and 2.5 stage changes each).
const BATCH: usize = 10_000;

/// Batches drafted ahead of the inserts.
const AHEAD: usize = 2;

/// One business partner per this many bulk opportunities.
const OPPORTUNITIES_PER_PARTNER: u32 = 20;

/// From this many new opportunities on (and at least a quarter of those there are), a load
/// rebuilds the indexes rather than updating them row by row.
const REBUILD_FROM: u32 = 50_000;

/// The tables a bulk load of opportunities fills.
/// The triggers that keep report cells, switched off during a load (`DISABLE` becomes `ENABLE`
/// to switch them on again).
const TALLIED: [&str; 2] = [
    "opportunity_stage_changes DISABLE TRIGGER stage_visits_insert",
    "opportunity_lines DISABLE TRIGGER line_contributions_insert",
];

const FILLED: [&str; 4] = [
    "opportunities",
    "opportunity_lines",
    "opportunity_stage_changes",
    "activities",
];

/// How a bulk load treats the secondary indexes and foreign keys of the tables it fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indexes {
    /// Keep them: every row updates them and checks its references.
    Keep,
    /// Drop them inside the load's transaction and create them again at its end.
    Rebuild,
}

/// Bulk-creates `count` business partners owned by the demo reps and manager (load the demo
/// data first). Blocking: call it outside an async runtime.
pub fn partners(database_url: &str, count: u32) -> Result<(), AppError> {
    super::with_async_connection(database_url, async |conn| insert_partners(conn, count).await)
}

/// Bulk-creates `count` realistic business partners owned by the demo reps and manager.
pub async fn insert_partners(conn: &mut Conn, count: u32) -> Result<(), AppError> {
    const PREFIXES: [&str; 8] = [
        "Autohaus",
        "Bäckerei",
        "Spedition",
        "Praxis",
        "Ingenieurbüro",
        "Hotel",
        "Brauerei",
        "Elektro",
    ];
    const NAMES: [&str; 10] = [
        "Müller",
        "Schmidt",
        "Schneider",
        "Fischer",
        "Weber",
        "Meyer",
        "Wagner",
        "Becker",
        "Schulz",
        "Hoffmann",
    ];
    const CITIES: [(&str, &str); 6] = [
        ("10115", "Berlin"),
        ("20095", "Hamburg"),
        ("80331", "München"),
        ("50667", "Köln"),
        ("60311", "Frankfurt am Main"),
        ("70173", "Stuttgart"),
    ];
    let owners: [UserId; 3] = [demo_id(2).into(), demo_id(3).into(), demo_id(4).into()];
    let mut remaining = count as usize;
    while remaining > 0 {
        let batch = remaining.min(PARTNER_BATCH);
        // The generator is not Send: draw the rows before the next await.
        let rows: Vec<NewPartner> = {
            let mut rng = rand::rng();
            (0..batch)
                .map(|_| {
                    let (postal_code, city) = CITIES.choose(&mut rng).copied().unwrap_or(("10115", "Berlin"));
                    let name = format!(
                        "{} {} {}",
                        PREFIXES.choose(&mut rng).unwrap_or(&"Firma"),
                        NAMES.choose(&mut rng).unwrap_or(&"Müller"),
                        rng.random_range(1..100_000)
                    );
                    NewPartner {
                        id: PartnerId::generate(),
                        kind: if rng.random_bool(0.4) {
                            PartnerKind::Customer
                        } else {
                            PartnerKind::Lead
                        },
                        email: Some(format!("kontakt{}@example.com", rng.random_range(1..10_000_000))),
                        phone: Some(format!(
                            "+49 {} {}",
                            rng.random_range(30..999),
                            rng.random_range(100_000..9_999_999)
                        )),
                        website: None,
                        street: Some(format!("Hauptstraße {}", rng.random_range(1..200))),
                        postal_code: Some(postal_code.to_owned()),
                        city: Some(city.to_owned()),
                        country: Some("DE".to_owned()),
                        vat_id: None,
                        owner_id: owners.choose(&mut rng).copied(),
                        notes: None,
                        external_id: None,
                        custom: None,
                        name,
                    }
                })
                .collect()
        };
        diesel::insert_into(business_partners::table)
            .values(&rows)
            .execute(conn)
            .await?;
        remaining -= batch;
    }
    diesel::sql_query("ANALYZE business_partners").execute(conn).await?;
    Ok(())
}

/// Bulk-creates `count` opportunities (load the demo data first), and first business partners
/// for them, one per 20 opportunities, unless there are that many. `report` gets progress lines.
/// Blocking: call it outside an async runtime.
pub fn opportunities(
    database_url: &str,
    count: u32,
    report: &mut (dyn FnMut(&str) + Send),
) -> Result<Counts, AppError> {
    super::with_async_connection(database_url, async |conn| {
        let wanted = i64::from((count / OPPORTUNITIES_PER_PARTNER).max(1));
        let have: i64 = business_partners::table.count().get_result(conn).await?;
        if have < wanted {
            let missing = u32::try_from(wanted - have).unwrap_or(u32::MAX);
            report(&format!("creating {missing} business partners"));
            insert_partners(conn, missing).await?;
        }
        let existing = estimated_rows(conn, "opportunities").await?;
        let indexes = if count >= REBUILD_FROM && i64::from(count) >= existing / 4 {
            Indexes::Rebuild
        } else {
            Indexes::Keep
        };
        let counts = load_opportunities(conn, count, indexes, report).await?;
        report("folding the report cells");
        crate::reports::store::compact(conn).await?;
        // Every table, not only the ones written here: triggers fill the stage visits, line
        // contributions and report cells, and a write path planned without their statistics
        // scans them sequentially (19 req/s instead of 179 right after a seed of 200,000).
        report("analyzing the tables");
        diesel::sql_query("ANALYZE").execute(conn).await?;
        Ok(counts)
    })
}

#[derive(QueryableByName)]
struct Estimate {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    rows: i64,
}

/// The planner's row count of `table` (0 before its first ANALYZE).
async fn estimated_rows(conn: &mut Conn, table: &str) -> Result<i64, AppError> {
    Ok(
        diesel::sql_query("SELECT greatest(reltuples, 0)::bigint AS rows FROM pg_class WHERE oid = $1::regclass")
            .bind::<Text, _>(table)
            .get_result::<Estimate>(conn)
            .await?
            .rows,
    )
}

/// Inserts `count` opportunities with their lines, activities and stage history, drafted from
/// the partners, classes, funnels, articles, lost reasons and users in the database, in one
/// transaction. Derived columns are computed as the API's refresh computes them.
pub async fn load_opportunities(
    conn: &mut Conn,
    count: u32,
    indexes: Indexes,
    report: &mut (dyn FnMut(&str) + Send),
) -> Result<Counts, AppError> {
    let started = Instant::now();
    let plan = Plan::load(conn).await?;
    let (sender, mut batches) = tokio::sync::mpsc::channel::<Batch>(AHEAD);
    let drafting = std::thread::spawn(move || draft::draft_all(plan, count, BATCH, &sender));
    let loaded = conn
        .transaction(async |conn| {
            let deferred = match indexes {
                Indexes::Rebuild => Some(Deferred::drop(conn).await?),
                Indexes::Keep => None,
            };
            // The stage visits and line contributions of the report cells are computed once at
            // the end, not per batch (whose look-ups would have no index while the indexes are
            // dropped).
            for table_trigger in TALLIED {
                diesel::sql_query(format!("ALTER TABLE {table_trigger}"))
                    .execute(conn)
                    .await?;
            }
            let mut counts = Counts::default();
            let step = (count / 10).max(1) as usize;
            while let Some(batch) = batches.recv().await {
                let before = counts.opportunities;
                counts += batch.insert(conn, Existing::Fail).await?;
                if counts.opportunities / step != before / step {
                    report(&format!(
                        "{:>10} opportunities inserted ({:.1} s)",
                        counts.opportunities,
                        started.elapsed().as_secs_f64()
                    ));
                }
            }
            if let Some(deferred) = deferred {
                deferred.restore(conn, &mut *report).await?;
                report(&format!(
                    "indexes and references restored ({:.1} s)",
                    started.elapsed().as_secs_f64()
                ));
            }
            for table_trigger in TALLIED {
                diesel::sql_query(format!("ALTER TABLE {}", table_trigger.replace("DISABLE", "ENABLE")))
                    .execute(conn)
                    .await?;
            }
            diesel::sql_query(
                "SELECT refresh_stage_visits(ARRAY(SELECT o.id FROM opportunities o
                 WHERE NOT EXISTS (SELECT FROM stage_visits v WHERE v.opportunity_id = o.id)))",
            )
            .execute(conn)
            .await?;
            diesel::sql_query(
                "SELECT refresh_line_contributions(ARRAY(SELECT DISTINCT l.opportunity_id FROM opportunity_lines l
                 WHERE NOT EXISTS (SELECT FROM line_contributions c WHERE c.line_id = l.id)))",
            )
            .execute(conn)
            .await?;
            report(&format!(
                "report cells counted ({:.1} s)",
                started.elapsed().as_secs_f64()
            ));
            Ok::<_, AppError>(counts)
        })
        .await;
    // An insert that failed closed the channel: the drafting thread stops at its next batch.
    drop(batches);
    drafting
        .join()
        .map_err(|_| AppError::Internal("the drafting thread panicked".to_owned()))?;
    loaded
}

#[derive(QueryableByName)]
struct Definition {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    definition: String,
}

/// Secondary indexes (those no constraint owns) of the filled tables.
const SECONDARY_INDEXES: &str = "
SELECT i.indrelid::regclass::text AS table_name, i.indexrelid::regclass::text AS name,
       pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i
WHERE i.indrelid = ANY($1::text[]::regclass[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
ORDER BY 1, 2";

/// Foreign keys of the filled tables.
const FOREIGN_KEYS: &str = "
SELECT conrelid::regclass::text AS table_name, quote_ident(conname) AS name,
       pg_get_constraintdef(oid) AS definition
FROM pg_constraint
WHERE contype = 'f' AND conrelid = ANY($1::text[]::regclass[])
ORDER BY 1, 2";

/// The secondary indexes and foreign keys a load dropped, to be created again.
struct Deferred {
    indexes: Vec<Definition>,
    foreign_keys: Vec<Definition>,
}

impl Deferred {
    /// Drops the secondary indexes and foreign keys of the filled tables, remembering their
    /// definitions; the transaction's locks keep everybody else out until they are back.
    async fn drop(conn: &mut Conn) -> Result<Deferred, AppError> {
        let tables: Vec<&str> = FILLED.to_vec();
        let indexes: Vec<Definition> = diesel::sql_query(SECONDARY_INDEXES)
            .bind::<Array<Text>, _>(&tables)
            .load(conn)
            .await?;
        let foreign_keys: Vec<Definition> = diesel::sql_query(FOREIGN_KEYS)
            .bind::<Array<Text>, _>(&tables)
            .load(conn)
            .await?;
        for key in &foreign_keys {
            diesel::sql_query(format!("ALTER TABLE {} DROP CONSTRAINT {}", key.table_name, key.name))
                .execute(conn)
                .await?;
        }
        for index in &indexes {
            diesel::sql_query(format!("DROP INDEX {}", index.name))
                .execute(conn)
                .await?;
        }
        Ok(Deferred { indexes, foreign_keys })
    }

    /// Creates the indexes and foreign keys again: each index is built once from all rows, each
    /// reference is checked by one join.
    async fn restore(self, conn: &mut Conn, report: &mut (dyn FnMut(&str) + Send)) -> Result<(), AppError> {
        report(&format!(
            "building {} indexes and checking {} foreign keys",
            self.indexes.len(),
            self.foreign_keys.len()
        ));
        // Sorting in memory rather than in temporary files; for this transaction only.
        diesel::sql_query("SET LOCAL maintenance_work_mem = '256MB'")
            .execute(conn)
            .await?;
        for index in &self.indexes {
            diesel::sql_query(&index.definition).execute(conn).await?;
        }
        for key in &self.foreign_keys {
            diesel::sql_query(format!(
                "ALTER TABLE {} ADD CONSTRAINT {} {}",
                key.table_name, key.name, key.definition
            ))
            .execute(conn)
            .await?;
        }
        Ok(())
    }
}

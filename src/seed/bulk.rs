//! Bulk data for benchmarks.

use diesel::prelude::*;
use rand::Rng;
use rand::seq::IndexedRandom;
use uuid::Uuid;

use super::demo_id;
use crate::db::SyncConn;
use crate::error::AppError;
use crate::partners::store::{NewPartner, PartnerKind};
use crate::schema::business_partners;

const BULK_BATCH: usize = 4000;

/// Bulk-creates `count` realistic business partners owned by the demo reps and manager.
pub fn partners(conn: &mut SyncConn, count: u32) -> Result<(), AppError> {
    super::demo(conn)?;
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
    let owners = [demo_id(2), demo_id(3), demo_id(4)];
    let mut rng = rand::rng();
    let mut remaining = count as usize;
    while remaining > 0 {
        let batch = remaining.min(BULK_BATCH);
        let rows: Vec<NewPartner> = (0..batch)
            .map(|_| {
                let (postal_code, city) = CITIES.choose(&mut rng).copied().unwrap_or(("10115", "Berlin"));
                let name = format!(
                    "{} {} {}",
                    PREFIXES.choose(&mut rng).unwrap_or(&"Firma"),
                    NAMES.choose(&mut rng).unwrap_or(&"Müller"),
                    rng.random_range(1..100_000)
                );
                NewPartner {
                    id: Uuid::now_v7(),
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
                    name,
                }
            })
            .collect();
        diesel::insert_into(business_partners::table)
            .values(&rows)
            .execute(conn)?;
        remaining -= batch;
    }
    diesel::sql_query("ANALYZE business_partners").execute(conn)?;
    Ok(())
}

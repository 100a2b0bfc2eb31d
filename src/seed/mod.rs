//! Demo data (idempotent) and bulk data for benchmarks.

pub mod bulk;
mod buying_centres;
mod catalogue;
mod configuration;
mod contacts;
mod copy;
mod custom;
mod demo_data;
mod draft;
mod opportunities;
mod plan;
mod rows;
mod targets;

use diesel::prelude::*;
use uuid::Uuid;

pub use self::rows::Counts;
use crate::access::Role;
use crate::db::{self, Conn, SyncConn};
use crate::error::AppError;
use crate::partners::changes::NewPartner;
use crate::partners::store::PartnerKind;
use crate::schema::{business_partners, users};
use crate::users::store::NewUser;

/// Fixed ids, so that running the demo seed twice changes nothing.
pub(crate) const fn demo_id(n: u128) -> Uuid {
    Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0000 | n)
}

const DEMO_USERS: [(u128, &str, &str, Role); 6] = [
    (1, "admin@salesfunnel.example", "Petra Admin", Role::Admin),
    (2, "markus.weber@salesfunnel.example", "Markus Weber", Role::Manager),
    (3, "anna.schmidt@salesfunnel.example", "Anna Schmidt", Role::Rep),
    (4, "jonas.becker@salesfunnel.example", "Jonas Becker", Role::Rep),
    (5, "lea.fischer@salesfunnel.example", "Lea Fischer", Role::Viewer),
    (6, "erp@salesfunnel.example", "ERP Schnittstelle", Role::Integration),
];

/// (id, kind, name, street, postal code, city, owner)
type DemoPartner = (
    u128,
    PartnerKind,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    u128,
);

const DEMO_PARTNERS: [DemoPartner; 6] = [
    (
        101,
        PartnerKind::Customer,
        "Autohaus Müller GmbH",
        "Leopoldstraße 12",
        "80802",
        "München",
        3,
    ),
    (
        102,
        PartnerKind::Customer,
        "Bäckerei Schäfer KG",
        "Hauptstraße 5",
        "69117",
        "Heidelberg",
        4,
    ),
    (
        103,
        PartnerKind::Lead,
        "Gröner Logistik AG",
        "Hafenstraße 88",
        "20457",
        "Hamburg",
        3,
    ),
    (
        104,
        PartnerKind::Lead,
        "Stadtwerke Überlingen",
        "Bahnhofstraße 1",
        "88662",
        "Überlingen",
        4,
    ),
    (
        105,
        PartnerKind::Customer,
        "Weiß & Söhne Bau GmbH",
        "Industriestraße 23",
        "70565",
        "Stuttgart",
        3,
    ),
    (
        106,
        PartnerKind::Lead,
        "Kröger Pflegedienst",
        "Lindenallee 7",
        "04109",
        "Leipzig",
        4,
    ),
];

/// The demo data set's fixed ids as shell variable names and values (`STAGE_ANFRAGE`,
/// `FUNNEL_NEUWAGEN`, `CLASS_NEUWAGEN`, `ARTICLE_VW_ID4_PRO`, `LOST_REASON_PREIS_ZU_HOCH`,
/// `PARTNER_AUTOHAUS_MUELLER_GMBH`, `USER_ANNA_SCHMIDT`, `CUSTOM_FIELD_LEASING_MONTHS`, …), taken from the constants the seed
/// writes, so `salesfunnel ids` cannot drift from the data.
pub fn well_known_ids() -> Vec<(String, String)> {
    let id = |n: u128| demo_id(n).to_string();
    let stages = configuration::STAGES
        .iter()
        .map(|&(n, code, ..)| (format!("STAGE_{}", shell_name(code)), id(n)));
    let funnels = configuration::FUNNELS
        .iter()
        .map(|&(n, name, ..)| (format!("FUNNEL_{}", shell_name(name)), id(n)));
    let classes = configuration::CLASSES
        .iter()
        .map(|&(code, ..)| (format!("CLASS_{}", shell_name(code)), code.to_owned()));
    let articles = configuration::ARTICLES
        .iter()
        .map(|&(n, sku, ..)| (format!("ARTICLE_{}", shell_name(sku)), id(n)));
    let reasons = configuration::LOST_REASONS
        .iter()
        .map(|&(n, label)| (format!("LOST_REASON_{}", shell_name(label)), id(n)));
    let partners = DEMO_PARTNERS
        .iter()
        .map(|&(n, _, name, ..)| (format!("PARTNER_{}", shell_name(name)), id(n)));
    let users = DEMO_USERS.iter().map(|&(n, email, ..)| {
        let local = email.split('@').next().unwrap_or(email);
        (format!("USER_{}", shell_name(local)), id(n))
    });
    let fields = custom::FIELDS
        .iter()
        .map(|&(n, _, key, ..)| (format!("CUSTOM_FIELD_{}", shell_name(key)), id(n)));
    stages
        .chain(funnels)
        .chain(classes)
        .chain(articles)
        .chain(reasons)
        .chain(partners)
        .chain(users)
        .chain(fields)
        .collect()
}

/// `Weiß & Söhne Bau GmbH` → `WEISS_SOEHNE_BAU_GMBH`: upper-case ASCII letters, digits and
/// single underscores, a valid shell variable name after a prefix.
fn shell_name(text: &str) -> String {
    let mut name = String::new();
    for c in text.chars() {
        let ascii = match c {
            'ä' | 'Ä' => "AE".to_owned(),
            'ö' | 'Ö' => "OE".to_owned(),
            'ü' | 'Ü' => "UE".to_owned(),
            'ß' => "SS".to_owned(),
            c if c.is_ascii_alphanumeric() => c.to_ascii_uppercase().to_string(),
            _ => "_".to_owned(),
        };
        if ascii != "_" || !(name.is_empty() || name.ends_with('_')) {
            name.push_str(&ascii);
        }
    }
    name.trim_end_matches('_').to_owned()
}

/// Whether the database holds no users yet (a fresh embedded database).
pub fn is_empty(conn: &mut SyncConn) -> Result<bool, AppError> {
    Ok(!diesel::select(diesel::dsl::exists(users::table.select(users::id))).get_result::<bool>(conn)?)
}

/// The id of the first admin user, for the printed admin token.
pub fn first_admin(conn: &mut SyncConn) -> Result<Option<String>, AppError> {
    Ok(users::table
        .filter(users::role.eq(Role::Admin))
        .order(users::created_at)
        .select(users::id)
        .first::<Uuid>(conn)
        .optional()?
        .map(|id| id.to_string()))
}

/// Loads the demo data set: users, partners with their contacts, the sales configuration, exchange
/// rates and quotas, and opportunities with
/// their lines, activities and history; rows that exist already are left alone, so running it
/// twice changes nothing. Blocking: call it outside an async runtime.
pub fn demo(database_url: &str) -> Result<(), AppError> {
    let mut conn = db::sync_connection(database_url).map_err(AppError::Unavailable)?;
    conn.transaction(|conn| {
        people(conn)?;
        configuration::load(conn)?;
        custom::load(conn)?;
        targets::load(conn)
    })?;
    drop(conn);
    // The opportunities' derived columns come from the API's own (async) refresh.
    with_async_connection(database_url, opportunities::load_demo)?;
    Ok(())
}

/// Runs `work` on a new async connection, on a runtime of its own. Blocking: call it outside an
/// async runtime.
pub(crate) fn with_async_connection<T>(
    database_url: &str,
    work: impl AsyncFnOnce(&mut Conn) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| AppError::Internal(format!("cannot start an async runtime: {e}")))?;
    runtime.block_on(async {
        let mut conn = <Conn as diesel_async::AsyncConnection>::establish(database_url)
            .await
            .map_err(|e| AppError::Unavailable(format!("cannot connect to the database: {e}")))?;
        work(&mut conn).await
    })
}

fn people(conn: &mut SyncConn) -> Result<(), AppError> {
    let new_users: Vec<NewUser> = DEMO_USERS
        .iter()
        .map(|(n, email, name, role)| NewUser {
            id: demo_id(*n).into(),
            email: (*email).to_owned(),
            display_name: (*name).to_owned(),
            role: *role,
            active: true,
        })
        .collect();
    diesel::insert_into(users::table)
        .values(&new_users)
        .on_conflict_do_nothing()
        .execute(conn)?;
    let partners: Vec<NewPartner> = DEMO_PARTNERS
        .iter()
        .map(|(n, kind, name, street, postal_code, city, owner)| NewPartner {
            id: demo_id(*n).into(),
            kind: *kind,
            name: (*name).to_owned(),
            email: Some(format!("info@{}.example", slug(name))),
            phone: Some(format!("+49 30 {:07}", n * 7919)),
            website: Some(format!("https://{}.example", slug(name))),
            street: Some((*street).to_owned()),
            postal_code: Some((*postal_code).to_owned()),
            city: Some((*city).to_owned()),
            country: Some("DE".to_owned()),
            vat_id: (*kind == PartnerKind::Customer).then(|| format!("DE{:09}", n * 1_000_003)),
            owner_id: Some(demo_id(*owner).into()),
            notes: None,
            external_id: None,
            custom: None,
        })
        .collect();
    diesel::insert_into(business_partners::table)
        .values(&partners)
        .on_conflict_do_nothing()
        .execute(conn)?;
    let names: Vec<(u128, &str)> = DEMO_PARTNERS.iter().map(|&(n, _, name, ..)| (n, name)).collect();
    contacts::load(conn, &names)
}

fn slug(name: &str) -> String {
    name.split_whitespace()
        .next()
        .unwrap_or("firma")
        .to_lowercase()
        .replace('ä', "ae")
        .replace('ö', "oe")
        .replace('ü', "ue")
        .replace('ß', "ss")
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    #[test]
    fn well_known_ids_are_unique_shell_variables() {
        let ids = super::well_known_ids();
        let names: HashSet<&str> = ids.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names.len(), ids.len(), "no name twice: {ids:?}");
        for (name, value) in &ids {
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                    && !name.contains("__")
                    && !name.ends_with('_'),
                "{name}"
            );
            assert!(
                value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "{value}"
            );
        }
        assert_eq!(super::shell_name("Weiß & Söhne Bau GmbH"), "WEISS_SOEHNE_BAU_GMBH");
    }
}

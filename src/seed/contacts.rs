//! The demo contacts: two people at most demo partners, one of them the primary contact.

use diesel::prelude::*;

use super::{demo_id, slug};
use crate::contacts::store::ContactRow;
use crate::db::SyncConn;
use crate::error::AppError;
use crate::schema::contacts;

/// (id, partner, salutation, title, first name, last name, position, mobile, primary)
type DemoContact = (
    u128,
    u128,
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    bool,
);

pub(super) const DEMO_CONTACTS: [DemoContact; 11] = [
    (
        601,
        101,
        "Frau",
        Some("Dr."),
        "Sabine",
        "Müller",
        "Geschäftsführerin",
        Some("+49 171 4455667"),
        true,
    ),
    (
        602,
        101,
        "Herr",
        None,
        "Thomas",
        "Berger",
        "Leiter Fuhrpark",
        None,
        false,
    ),
    (
        603,
        102,
        "Herr",
        None,
        "Klaus",
        "Schäfer",
        "Inhaber",
        Some("+49 160 9988776"),
        true,
    ),
    (604, 102, "Frau", None, "Monika", "Schäfer", "Buchhaltung", None, false),
    (
        605,
        103,
        "Frau",
        None,
        "Julia",
        "Neumann",
        "Einkauf",
        Some("+49 151 2233445"),
        true,
    ),
    (
        606,
        103,
        "Herr",
        Some("Dipl.-Ing."),
        "Stefan",
        "Gröner",
        "Vorstand",
        None,
        false,
    ),
    (
        607,
        104,
        "Herr",
        None,
        "Michael",
        "Hoffmann",
        "Leiter Fuhrpark",
        None,
        true,
    ),
    (608, 104, "Frau", None, "Katrin", "Wagner", "Vergabestelle", None, false),
    (
        609,
        105,
        "Herr",
        None,
        "Jürgen",
        "Weiß",
        "Geschäftsführer",
        Some("+49 172 5566778"),
        true,
    ),
    (
        610,
        105,
        "Herr",
        None,
        "Andreas",
        "Koch",
        "Bauleiter",
        Some("+49 152 6677889"),
        false,
    ),
    (
        611,
        106,
        "Frau",
        None,
        "Birgit",
        "Kröger",
        "Pflegedienstleitung",
        None,
        true,
    ),
];

/// Inserts the demo contacts of the demo `partners` (id, name); those that exist stay as they
/// are.
pub(super) fn load(conn: &mut SyncConn, partners: &[(u128, &str)]) -> Result<(), AppError> {
    let now = chrono::Utc::now();
    let rows: Vec<ContactRow> = DEMO_CONTACTS
        .iter()
        .filter_map(
            |&(n, partner, salutation, title, first, last, position, mobile, primary)| {
                let (_, company) = partners.iter().find(|(p, _)| *p == partner)?;
                Some(ContactRow {
                    id: demo_id(n).into(),
                    business_partner_id: demo_id(partner).into(),
                    salutation: Some(salutation.to_owned()),
                    title: title.map(str::to_owned),
                    first_name: Some(first.to_owned()),
                    last_name: last.to_owned(),
                    email: Some(format!("{}.{}@{}.example", slug(first), slug(last), slug(company))),
                    phone: Some(format!("+49 30 {:07}-{}", partner * 7919, n - 600)),
                    mobile: mobile.map(str::to_owned),
                    position: Some(position.to_owned()),
                    is_primary: primary,
                    active: true,
                    created_by: None,
                    created_at: now,
                    updated_at: now,
                    version: 1,
                    custom: serde_json::Value::Object(serde_json::Map::new()),
                })
            },
        )
        .collect();
    diesel::insert_into(contacts::table)
        .values(&rows)
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(())
}

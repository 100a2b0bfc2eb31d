//! The demo custom fields and their values: the leasing term and the trade-in value of an
//! opportunity (both printed on the quote), the ERP customer group of a business partner and
//! the delivery date of a quote. Fixed ids (`demo_id` 701…); values are written only where a
//! record has none yet, so a second run changes nothing.

use chrono::Utc;
use diesel::prelude::*;
use serde_json::{Value, json};

use super::demo_id;
use crate::custom_fields::store::CustomFieldRow;
use crate::db::SyncConn;
use crate::domain::custom::{CustomResource, FieldType};
use crate::error::AppError;
use crate::schema::{business_partners, custom_fields};

/// (id, resource, key, label, type, options, show on the quote)
type DemoField = (
    u128,
    CustomResource,
    &'static str,
    &'static str,
    FieldType,
    &'static [&'static str],
    bool,
);

pub(super) const FIELDS: [DemoField; 4] = [
    (
        701,
        CustomResource::Opportunity,
        "leasing_months",
        "Leasinglaufzeit (Monate)",
        FieldType::Number,
        &[],
        true,
    ),
    (
        702,
        CustomResource::Opportunity,
        "trade_in_value",
        "Inzahlungnahme",
        FieldType::Money,
        &[],
        true,
    ),
    (
        703,
        CustomResource::BusinessPartner,
        "erp_customer_group",
        "ERP-Kundengruppe",
        FieldType::Enum,
        &["Privatkunde", "Gewerbekunde", "Flottenkunde", "Öffentliche Hand"],
        false,
    ),
    (
        704,
        CustomResource::Quote,
        "delivery_date",
        "Liefertermin",
        FieldType::Date,
        &[],
        true,
    ),
];

/// The ERP customer group of the demo partners (demo number, option).
const PARTNER_GROUPS: [(u128, &str); 6] = [
    (101, "Gewerbekunde"),
    (102, "Gewerbekunde"),
    (103, "Flottenkunde"),
    (104, "Öffentliche Hand"),
    (105, "Flottenkunde"),
    (106, "Gewerbekunde"),
];

/// The custom values of demo opportunities (demo number, values).
pub(super) fn opportunity_values() -> Vec<(u128, Value)> {
    vec![
        (1002, json!({"leasing_months": 48})),
        (1004, json!({"leasing_months": 36, "trade_in_value": "12500.00"})),
        (1005, json!({"trade_in_value": "8900.00"})),
        (1007, json!({"leasing_months": 36})),
        (1010, json!({"leasing_months": 48, "trade_in_value": "4500.00"})),
    ]
}

/// Adds the demo custom fields and the partners' customer groups.
pub(super) fn load(conn: &mut SyncConn) -> Result<(), AppError> {
    let now = Utc::now();
    let rows: Vec<CustomFieldRow> = FIELDS
        .iter()
        .map(
            |&(n, resource, key, label, type_, options, show_on_quote)| CustomFieldRow {
                id: demo_id(n).into(),
                resource,
                key: key.to_owned(),
                label: label.to_owned(),
                type_,
                options: options.iter().map(|o| Some((*o).to_owned())).collect(),
                required_from_stage_ids: Vec::new(),
                show_on_quote,
                active: true,
                created_at: now,
                updated_at: now,
                version: 1,
            },
        )
        .collect();
    diesel::insert_into(custom_fields::table)
        .values(&rows)
        .on_conflict_do_nothing()
        .execute(conn)?;
    for (partner, group) in PARTNER_GROUPS {
        diesel::update(business_partners::table.find(demo_id(partner)))
            .filter(business_partners::custom.eq(json!({})))
            .set(business_partners::custom.eq(json!({ "erp_customer_group": group })))
            .execute(conn)?;
    }
    Ok(())
}

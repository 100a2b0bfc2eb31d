//! The demo sales configuration of a German car dealership: stages, two funnels with teams,
//! classes routing to them, lost reasons, articles and the company settings.

use chrono::Utc;
use diesel::prelude::*;
use rust_decimal::Decimal;

use super::demo_id;
use crate::articles::store::ArticleRow;
use crate::classes::store::ClassRow;
use crate::db::SyncConn;
use crate::domain::money::{Money, Percent};
use crate::domain::pipeline::Outcome;
use crate::error::AppError;
use crate::funnels::store::FunnelRow;
use crate::lost_reasons::store::LostReasonRow;
use crate::schema::{articles, classes, funnel_members, funnel_stages, funnels, lost_reasons, settings, stages};
use crate::stages::store::StageRow;

/// (id, code, name, icon, probability, outcome, requires lines)
pub(super) const STAGES: [(u128, &str, &str, &str, i64, Outcome, bool); 7] = [
    (201, "ANFRAGE", "Anfrage", "inbox", 5, Outcome::Open, false),
    (202, "ERSTGESPRAECH", "Erstgespräch", "phone", 20, Outcome::Open, false),
    (203, "PROBEFAHRT", "Probefahrt", "car", 40, Outcome::Open, false),
    (204, "ANGEBOT", "Angebot", "file-text", 75, Outcome::Open, true),
    (205, "VERHANDLUNG", "Verhandlung", "handshake", 90, Outcome::Open, true),
    (206, "GEWONNEN", "Gewonnen", "trophy", 100, Outcome::Won, false),
    (207, "VERLOREN", "Verloren", "x-circle", 0, Outcome::Lost, false),
];

const NEUWAGEN: u128 = 301;
/// The weighted value, halved once nobody has talked to the prospect for two weeks.
const NEUWAGEN_METRIC: &str = "if(days_since_contact > 14, round(weighted_value / 2, 2), weighted_value)";
const SERVICE: u128 = 302;

/// (id, name, description, warn after days, critical after days, metric label and formula)
type DemoFunnel = (
    u128,
    &'static str,
    &'static str,
    i32,
    i32,
    Option<(&'static str, &'static str)>,
);

pub(super) const FUNNELS: [DemoFunnel; 2] = [
    (
        NEUWAGEN,
        "Neuwagen",
        "Verkauf von Neufahrzeugen, mit Probefahrt",
        7,
        14,
        Some(("Bereinigtes Potenzial", NEUWAGEN_METRIC)),
    ),
    (SERVICE, "Service", "Werkstatt- und Serviceaufträge", 5, 10, None),
];

/// (code, description, default funnel, default owner)
pub(super) const CLASSES: [(&str, &str, u128, u128); 3] = [
    ("NEUWAGEN", "Neufahrzeuge für Privatkunden", NEUWAGEN, 3),
    ("FLOTTE", "Flottenkunden und Leasing", NEUWAGEN, 2),
    ("SERVICE", "Werkstatt und Service", SERVICE, 4),
];

pub(super) const LOST_REASONS: [(u128, &str); 5] = [
    (401, "Preis zu hoch"),
    (402, "Wettbewerber gewählt"),
    (403, "Kein Bedarf mehr"),
    (404, "Keine Rückmeldung"),
    (405, "Lieferzeit zu lang"),
];

/// (id, sku, name, unit, unit price in cents, tax rate)
/// The long text of a demo article (printed under its quote lines), where it has one.
fn long_description(sku: &str) -> Option<String> {
    let text = match sku {
        "VW-ID4-PRO" => {
            "Elektro-SUV mit 77-kWh-Batterie, Wärmepumpe, Assistenzpaket Plus und \
             Anhängerkupplung; Lieferung inklusive Typ-2-Ladekabel."
        }
        "ZUB-WINTERRAEDER" => {
            "Vier Leichtmetallräder mit Winterreifen, montiert und gewuchtet, inklusive RDKS-Sensoren."
        }
        _ => return None,
    };
    Some(text.to_owned())
}

pub(super) const ARTICLES: [(u128, &str, &str, &str, i64, i64); 7] = [
    (501, "VW-ID4-PRO", "VW ID.4 Pro, 77 kWh", "Stk", 4_799_000, 19),
    (502, "VW-GOLF-LIFE", "VW Golf Life 1.5 TSI", "Stk", 2_999_000, 19),
    (
        503,
        "SKODA-OCTAVIA-COMBI",
        "Škoda Octavia Combi Style",
        "Stk",
        3_349_000,
        19,
    ),
    (504, "ZUB-WINTERRAEDER", "Winterkompletträder 17\"", "Satz", 129_000, 19),
    (
        505,
        "SERVICE-INSPEKTION",
        "Inspektion nach Herstellervorgabe",
        "Stk",
        34_900,
        19,
    ),
    (
        506,
        "SERVICE-REIFENWECHSEL",
        "Räderwechsel inkl. Einlagerung",
        "Stk",
        5_990,
        19,
    ),
    (507, "SERVICE-STUNDE", "Werkstattstunde", "h", 11_900, 19),
];

fn percent(value: i64) -> Percent {
    Percent::new(Decimal::from(value)).unwrap_or_default()
}

pub fn load(conn: &mut SyncConn) -> Result<(), AppError> {
    let now = Utc::now();
    let stage_rows: Vec<StageRow> = STAGES
        .iter()
        .map(
            |&(n, code, name, icon, probability, outcome, requires_lines)| StageRow {
                id: demo_id(n).into(),
                code: code.to_owned(),
                name: name.to_owned(),
                icon: Some(icon.to_owned()),
                probability: percent(probability),
                outcome,
                requires_lines,
                warn_after_days: (code == "VERHANDLUNG").then_some(3),
                critical_after_days: (code == "VERHANDLUNG").then_some(5),
                active: true,
                created_at: now,
                updated_at: now,
                version: 1,
            },
        )
        .collect();
    diesel::insert_into(stages::table)
        .values(&stage_rows)
        .on_conflict_do_nothing()
        .execute(conn)?;

    let funnel =
        |n: u128, name: &str, description: &str, warn: i32, critical: i32, metric: Option<(&str, &str)>| FunnelRow {
            id: demo_id(n).into(),
            name: name.to_owned(),
            description: Some(description.to_owned()),
            warn_after_days: warn,
            critical_after_days: critical,
            metric_label: metric.map(|(label, _)| label.to_owned()),
            metric_formula: metric.map(|(_, formula)| formula.to_owned()),
            active: true,
            created_at: now,
            updated_at: now,
            version: 1,
            planned_followup_keeps_yellow: false,
        };
    let funnel_rows = FUNNELS
        .map(|(n, name, description, warn, critical, metric)| funnel(n, name, description, warn, critical, metric));
    let inserted = diesel::insert_into(funnels::table)
        .values(&funnel_rows)
        .on_conflict_do_nothing()
        .execute(conn)?;
    if inserted > 0 {
        let neuwagen = [201, 202, 203, 204, 205, 206, 207];
        let service = [201, 202, 204, 206, 207];
        let mut members = Vec::new();
        for (funnel, ids) in [(NEUWAGEN, &neuwagen[..]), (SERVICE, &service[..])] {
            for (position, stage) in (1..).zip(ids) {
                members.push((
                    funnel_stages::funnel_id.eq(demo_id(funnel)),
                    funnel_stages::stage_id.eq(demo_id(*stage)),
                    funnel_stages::position.eq(position),
                ));
            }
        }
        diesel::insert_into(funnel_stages::table)
            .values(members)
            .on_conflict_do_nothing()
            .execute(conn)?;
        let team = [(NEUWAGEN, 2), (NEUWAGEN, 3), (SERVICE, 2), (SERVICE, 4)].map(|(funnel, user)| {
            (
                funnel_members::funnel_id.eq(demo_id(funnel)),
                funnel_members::user_id.eq(demo_id(user)),
            )
        });
        diesel::insert_into(funnel_members::table)
            .values(&team[..])
            .on_conflict_do_nothing()
            .execute(conn)?;
    }

    let class = |code: &str, description: &str, funnel: u128, owner: u128| ClassRow {
        id: code.to_owned(),
        description: Some(description.to_owned()),
        default_funnel_id: Some(demo_id(funnel).into()),
        default_owner_id: Some(demo_id(owner).into()),
        active: true,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let class_rows = CLASSES.map(|(code, description, funnel, owner)| class(code, description, funnel, owner));
    diesel::insert_into(classes::table)
        .values(&class_rows[..])
        .on_conflict_do_nothing()
        .execute(conn)?;

    let reasons: Vec<LostReasonRow> = LOST_REASONS
        .iter()
        .map(|&(n, label)| LostReasonRow {
            id: demo_id(n).into(),
            label: label.to_owned(),
            active: true,
            created_at: now,
            updated_at: now,
            version: 1,
        })
        .collect();
    diesel::insert_into(lost_reasons::table)
        .values(&reasons)
        .on_conflict_do_nothing()
        .execute(conn)?;

    let article_rows: Vec<ArticleRow> = ARTICLES
        .iter()
        .map(|&(n, sku, name, unit, cents, tax)| ArticleRow {
            id: demo_id(n).into(),
            sku: sku.to_owned(),
            name: name.to_owned(),
            description: None,
            long_description: long_description(sku),
            unit: unit.to_owned(),
            unit_price: Money::rounded(Decimal::new(cents, 2)),
            currency: "EUR".to_owned(),
            tax_rate: percent(tax),
            active: true,
            created_at: now,
            updated_at: now,
            version: 1,
        })
        .collect();
    diesel::insert_into(articles::table)
        .values(&article_rows)
        .on_conflict_do_nothing()
        .execute(conn)?;

    // Only settings nobody has changed yet (version 1) get the demo company.
    diesel::update(settings::table.filter(settings::version.eq(1)))
        .set((
            settings::company_name.eq("Autohaus Beispiel GmbH"),
            settings::company_address.eq("Leopoldstraße 200, 80804 München, Deutschland"),
            settings::register_court.eq("Amtsgericht München"),
            settings::register_number.eq("HRB 234567"),
            settings::managing_directors.eq("Maria Beispiel, Thomas Muster"),
            settings::vat_id.eq("DE811234567"),
            settings::tax_number.eq("143/234/56789"),
            // The documentation example IBAN of the German banks: a valid checksum, nobody's account.
            settings::iban.eq("DE89 3704 0044 0532 0130 00"),
            settings::bic.eq("COBADEFFXXX"),
            settings::bank_name.eq("Commerzbank München"),
            settings::phone.eq("+49 89 3090 4000"),
            settings::email.eq("angebote@autohaus-beispiel.de"),
            settings::website.eq("https://www.autohaus-beispiel.de"),
            settings::updated_at.eq(diesel::dsl::now),
            settings::version.eq(2),
        ))
        .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::domain::formula::Formula;

    #[test]
    fn the_demo_metric_formula_is_valid() {
        assert!(Formula::parse(super::NEUWAGEN_METRIC).is_ok());
    }
}

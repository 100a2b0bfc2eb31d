//! The demo opportunities: both demo funnels, every stage of each, won and lost ones, one
//! handed to the ERP, and open ones in every colour of the traffic light, with lines,
//! activities and their stage history. Fixed ids (`demo_id` 1001… for opportunities, 2001… for
//! lines, 3001… for activities, 4001… for stage changes) keep a second run from adding anything.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::demo_id;
use super::rows::{Activity, Batch, Draft, Existing, Line, Step, now_in_seconds, step_probability};
use crate::articles::store::ArticleRow;
use crate::db::Conn;
use crate::domain::pipeline::Outcome;
use crate::error::AppError;
use crate::opportunities::derive;
use crate::schema::{articles, opportunities, stages};

/// Hours before now.
const fn ago(days: i64, hours: i64) -> i64 {
    days * 24 + hours
}

/// A demo line: an article (demo number) or a free text line, quantity, price in cents (`None`:
/// the catalogue's), discount percent.
type DemoLine = (Option<u128>, &'static str, i64, Option<i64>, i64);

/// A demo activity: kind, subject, done (else planned), hours ago (negative: due in the future).
type DemoActivity = (&'static str, &'static str, bool, i64);

/// A demo opportunity. Times are hours before now, chosen away from whole days so that the
/// metric's day counts and the traffic light stay as described for a while after seeding.
struct Demo {
    n: u128,
    subject: &'static str,
    partner: u128,
    class: &'static str,
    funnel: u128,
    owner: u128,
    /// Stages entered (demo numbers) and when; the first at the creation.
    path: &'static [(u128, i64)],
    /// Target value in euros while it has no lines.
    target: i64,
    lines: &'static [DemoLine],
    activities: &'static [DemoActivity],
    close_in_days: Option<i64>,
    probability_override: Option<i64>,
    /// The lost reason (demo number) and note of a lost one.
    lost: Option<(u128, &'static str)>,
    erp_reference: Option<&'static str>,
}

const NEUWAGEN: u128 = 301;
const SERVICE: u128 = 302;
const ANFRAGE: u128 = 201;
const ERSTGESPRAECH: u128 = 202;
const PROBEFAHRT: u128 = 203;
const ANGEBOT: u128 = 204;
const VERHANDLUNG: u128 = 205;
const GEWONNEN: u128 = 206;
const VERLOREN: u128 = 207;

const NONE: Demo = Demo {
    n: 0,
    subject: "",
    partner: 101,
    class: "NEUWAGEN",
    funnel: NEUWAGEN,
    owner: 3,
    path: &[],
    target: 0,
    lines: &[],
    activities: &[],
    close_in_days: None,
    probability_override: None,
    lost: None,
    erp_reference: None,
};

/// Both demo funnels, every stage of each, won and lost ones, one handed to the ERP, and open
/// ones in every colour of the traffic light (Neuwagen 7/14 days, Verhandlung 3/5, Service 5/10).
const DEMO: [Demo; 18] = [
    // Green: created a day ago, no contact yet.
    Demo {
        n: 1001,
        subject: "Kleinwagen für den Pflegedienst (3 Fahrzeuge)",
        partner: 106,
        path: &[(ANFRAGE, ago(1, 6))],
        target: 72_000,
        activities: &[
            ("note", "Anfrage über das Kontaktformular", true, ago(1, 5)),
            ("call", "Rückruf: Bedarf klären", false, -20),
        ],
        ..NONE
    },
    // Yellow: last contact 9 days ago.
    Demo {
        n: 1002,
        subject: "Lieferfahrzeug für die Filialbelieferung",
        partner: 102,
        path: &[(ANFRAGE, ago(20, 10)), (ERSTGESPRAECH, ago(18, 8))],
        target: 38_500,
        activities: &[
            ("call", "Erstgespräch: Bedarf und Budget", true, ago(18, 9)),
            ("email", "Prospekt und Preisliste gesendet", true, ago(9, 7)),
            ("appointment", "Beratungstermin im Autohaus", false, -ago(2, 4)),
        ],
        close_in_days: Some(45),
        ..NONE
    },
    // Red: last contact three weeks ago; the metric halves its weighted value.
    Demo {
        n: 1003,
        subject: "Škoda Octavia Combi für den Außendienst",
        partner: 105,
        path: &[
            (ANFRAGE, ago(40, 9)),
            (ERSTGESPRAECH, ago(35, 10)),
            (PROBEFAHRT, ago(30, 8)),
        ],
        target: 33_490,
        activities: &[
            ("call", "Erstgespräch Außendienstfahrzeug", true, ago(35, 11)),
            ("meeting", "Probefahrt Octavia Combi", true, ago(30, 8)),
            ("call", "Nachfassen nach der Probefahrt", true, ago(21, 14)),
        ],
        close_in_days: Some(20),
        ..NONE
    },
    // The example of the design: 100,000.00 in lines at Angebot (75 %) weighs 75,000.00.
    Demo {
        n: 1004,
        subject: "Flottenerneuerung 2027: 2 × ID.4 Pro",
        partner: 103,
        class: "FLOTTE",
        owner: 2,
        path: &[
            (ANFRAGE, ago(25, 8)),
            (ERSTGESPRAECH, ago(22, 10)),
            (ANGEBOT, ago(10, 6)),
        ],
        lines: &[
            (Some(501), "", 2, None, 0),
            (Some(504), "", 2, None, 0),
            (None, "Überführung und Zulassung", 2, Some(72_000), 0),
        ],
        activities: &[
            ("meeting", "Bedarfsanalyse Fuhrpark", true, ago(22, 10)),
            ("email", "Angebot ID.4 Pro versendet", true, ago(10, 6)),
            ("call", "Rückfragen zur Ladeinfrastruktur", true, ago(2, 7)),
            (
                "appointment",
                "Angebotsbesprechung mit der Geschäftsführung",
                false,
                -ago(5, 3),
            ),
        ],
        close_in_days: Some(30),
        ..NONE
    },
    // Green in Verhandlung (3/5 days).
    Demo {
        n: 1005,
        subject: "Vorführwagen Golf Life",
        partner: 101,
        path: &[
            (ANFRAGE, ago(15, 9)),
            (PROBEFAHRT, ago(12, 7)),
            (ANGEBOT, ago(8, 10)),
            (VERHANDLUNG, ago(3, 9)),
        ],
        lines: &[(Some(502), "", 1, None, 8)],
        activities: &[
            ("meeting", "Probefahrt Golf Life", true, ago(12, 7)),
            ("call", "Preisverhandlung", true, ago(1, 8)),
        ],
        close_in_days: Some(10),
        ..NONE
    },
    // Yellow in Verhandlung: four days without contact.
    Demo {
        n: 1006,
        subject: "Bauleiterfahrzeuge: 3 × Octavia Combi",
        partner: 105,
        class: "FLOTTE",
        owner: 2,
        path: &[
            (ANFRAGE, ago(33, 7)),
            (ERSTGESPRAECH, ago(30, 9)),
            (ANGEBOT, ago(16, 10)),
            (VERHANDLUNG, ago(9, 8)),
        ],
        lines: &[(Some(503), "", 3, None, 5), (Some(504), "", 3, None, 0)],
        activities: &[
            ("meeting", "Erstgespräch mit dem Fuhrparkleiter", true, ago(30, 9)),
            ("email", "Angebot mit Flottenrabatt", true, ago(16, 10)),
            ("meeting", "Verhandlung Rahmenvertrag", true, ago(4, 10)),
            ("task", "Finanzierungsvarianten rechnen", false, -ago(1, 2)),
        ],
        close_in_days: Some(14),
        ..NONE
    },
    // Won and handed to the ERP.
    Demo {
        n: 1007,
        subject: "ID.4 Pro für die Geschäftsleitung",
        partner: 101,
        path: &[
            (ANFRAGE, ago(70, 8)),
            (ERSTGESPRAECH, ago(66, 9)),
            (PROBEFAHRT, ago(60, 10)),
            (ANGEBOT, ago(45, 7)),
            (VERHANDLUNG, ago(30, 9)),
            (GEWONNEN, ago(12, 10)),
        ],
        lines: &[(Some(501), "", 1, None, 3), (Some(504), "", 1, None, 0)],
        activities: &[
            ("call", "Erstgespräch", true, ago(66, 9)),
            ("meeting", "Probefahrt ID.4 Pro", true, ago(60, 10)),
            ("meeting", "Vertragsunterzeichnung", true, ago(12, 10)),
        ],
        close_in_days: Some(-10),
        erp_reference: Some("AB-2026-004711"),
        ..NONE
    },
    // Won, not yet handed to the ERP.
    Demo {
        n: 1008,
        subject: "Poolfahrzeuge: 2 × Golf Life",
        partner: 103,
        class: "FLOTTE",
        owner: 2,
        path: &[
            (ANFRAGE, ago(120, 9)),
            (ERSTGESPRAECH, ago(110, 7)),
            (ANGEBOT, ago(80, 10)),
            (GEWONNEN, ago(48, 8)),
        ],
        lines: &[(Some(502), "", 2, None, 3)],
        activities: &[
            ("email", "Angebot Poolfahrzeuge", true, ago(80, 10)),
            ("call", "Zusage telefonisch", true, ago(48, 8)),
        ],
        close_in_days: Some(-45),
        ..NONE
    },
    // Lost to a competitor.
    Demo {
        n: 1009,
        subject: "E-Fahrzeuge für den Bereitschaftsdienst",
        partner: 104,
        path: &[
            (ANFRAGE, ago(64, 9)),
            (ERSTGESPRAECH, ago(58, 10)),
            (VERLOREN, ago(30, 7)),
        ],
        target: 120_000,
        activities: &[
            ("meeting", "Vorstellung bei den Stadtwerken", true, ago(58, 10)),
            ("email", "Unterlagen zur Ausschreibung eingereicht", true, ago(44, 8)),
        ],
        close_in_days: Some(-25),
        lost: Some((
            402,
            "Die Ausschreibung ging an einen Mitbewerber mit kürzerer Lieferzeit.",
        )),
        ..NONE
    },
    // Lost on price, after an offer with lines.
    Demo {
        n: 1010,
        subject: "Leasingangebot 5 × Golf Life",
        partner: 105,
        class: "FLOTTE",
        owner: 2,
        path: &[
            (ANFRAGE, ago(90, 8)),
            (ERSTGESPRAECH, ago(85, 9)),
            (ANGEBOT, ago(70, 7)),
            (VERLOREN, ago(52, 10)),
        ],
        lines: &[(Some(502), "", 5, None, 4)],
        activities: &[
            ("email", "Leasingangebot versendet", true, ago(70, 7)),
            ("call", "Absage: Leasingrate zu hoch", true, ago(52, 10)),
        ],
        close_in_days: Some(-50),
        lost: Some((401, "Die Leasingrate lag 12 % über dem Angebot der Hausbank.")),
        ..NONE
    },
    // Red: a web enquiry nobody has called back for over two weeks.
    Demo {
        n: 1011,
        subject: "Anfrage über die Website: Octavia Combi",
        partner: 104,
        path: &[(ANFRAGE, ago(16, 12))],
        target: 31_000,
        activities: &[("task", "Interessenten zurückrufen", false, ago(14, 12))],
        ..NONE
    },
    // Green, with a probability override (35 % instead of the stage's 20 %).
    Demo {
        n: 1012,
        subject: "Elektro-Kleinwagen für die Tagespflege",
        partner: 106,
        path: &[(ANFRAGE, ago(6, 8)), (ERSTGESPRAECH, ago(4, 7))],
        target: 26_900,
        activities: &[("call", "Erstgespräch mit der Geschäftsführung", true, ago(4, 7))],
        close_in_days: Some(60),
        probability_override: Some(35),
        ..NONE
    },
    // Service (5/10 days). Green: a ticket from this morning.
    Demo {
        n: 1013,
        subject: "Inspektion der Lieferwagenflotte",
        partner: 102,
        class: "SERVICE",
        funnel: SERVICE,
        owner: 4,
        path: &[(ANFRAGE, ago(0, 9))],
        target: 1_400,
        activities: &[("ticket", "Serviceanfrage über das Kundenportal", true, ago(0, 8))],
        close_in_days: Some(7),
        ..NONE
    },
    // Yellow: a week since the last call.
    Demo {
        n: 1014,
        subject: "Wartungsvertrag für die Pflegefahrzeuge",
        partner: 106,
        class: "SERVICE",
        funnel: SERVICE,
        owner: 4,
        path: &[(ANFRAGE, ago(21, 9)), (ERSTGESPRAECH, ago(14, 10))],
        target: 4_800,
        activities: &[
            ("call", "Erstgespräch Wartungsvertrag", true, ago(14, 10)),
            ("call", "Rückfrage zu den Intervallen", true, ago(7, 9)),
        ],
        close_in_days: Some(21),
        ..NONE
    },
    // Red: the offer went out twelve days ago without an answer.
    Demo {
        n: 1015,
        subject: "Räderwechsel und Einlagerung Baustellenfahrzeuge",
        partner: 105,
        class: "SERVICE",
        funnel: SERVICE,
        owner: 4,
        path: &[
            (ANFRAGE, ago(30, 10)),
            (ERSTGESPRAECH, ago(26, 8)),
            (ANGEBOT, ago(20, 9)),
        ],
        lines: &[(Some(506), "", 12, None, 0), (Some(507), "", 6, None, 0)],
        activities: &[
            ("call", "Bedarf Räderwechsel", true, ago(26, 8)),
            ("email", "Angebot Räderwechsel versendet", true, ago(12, 8)),
        ],
        close_in_days: Some(5),
        ..NONE
    },
    // Won service order.
    Demo {
        n: 1016,
        subject: "Inspektion und Winterräder für den Vorführwagen",
        partner: 101,
        class: "SERVICE",
        funnel: SERVICE,
        owner: 4,
        path: &[(ANFRAGE, ago(14, 9)), (ANGEBOT, ago(10, 8)), (GEWONNEN, ago(5, 6))],
        lines: &[(Some(505), "", 1, None, 0), (Some(504), "", 1, None, 10)],
        activities: &[
            ("email", "Kostenvoranschlag versendet", true, ago(10, 8)),
            ("call", "Auftrag telefonisch bestätigt", true, ago(5, 6)),
            ("note", "Termin in der Werkstatt eingeplant", true, ago(5, 5)),
        ],
        close_in_days: Some(-4),
        ..NONE
    },
    // Lost: no answer.
    Demo {
        n: 1017,
        subject: "Werkstattpaket für den Fuhrpark",
        partner: 104,
        class: "SERVICE",
        funnel: SERVICE,
        owner: 4,
        path: &[
            (ANFRAGE, ago(50, 8)),
            (ERSTGESPRAECH, ago(45, 9)),
            (VERLOREN, ago(20, 7)),
        ],
        target: 9_500,
        activities: &[
            ("call", "Erstgespräch Werkstattpaket", true, ago(45, 9)),
            ("email", "Nachfassen", true, ago(35, 10)),
        ],
        close_in_days: Some(-20),
        lost: Some((404, "Nach drei Nachfassversuchen keine Antwort.")),
        ..NONE
    },
    // Green: an offer for workshop hours, met yesterday.
    Demo {
        n: 1018,
        subject: "Umbau Kühlfahrzeug: Werkstattstunden",
        partner: 102,
        class: "SERVICE",
        funnel: SERVICE,
        owner: 2,
        path: &[(ANFRAGE, ago(9, 7)), (ERSTGESPRAECH, ago(6, 9)), (ANGEBOT, ago(3, 8))],
        lines: &[(Some(507), "", 16, None, 0)],
        activities: &[("meeting", "Fahrzeugbesichtigung in der Werkstatt", true, ago(1, 9))],
        close_in_days: Some(12),
        ..NONE
    },
];

/// What the demo set refers to, as the database has it.
struct DemoCatalogue {
    articles: Vec<ArticleRow>,
    /// Stage id, probability and outcome.
    stages: Vec<(Uuid, Decimal, Outcome)>,
    currency: String,
}

/// The next fixed ids of lines, activities and stage changes, in the order of [`DEMO`].
struct DemoIds {
    line: u128,
    activity: u128,
    step: u128,
}

impl DemoIds {
    fn next(counter: &mut u128) -> Uuid {
        *counter += 1;
        demo_id(*counter - 1)
    }
}

impl Demo {
    fn missing(&self, what: &str) -> AppError {
        AppError::Internal(format!("demo opportunity {}: no {what}", self.n))
    }

    /// The stages entered, with the status the last one gives.
    fn steps(&self, now: DateTime<Utc>, catalogue: &DemoCatalogue, ids: &mut DemoIds) -> Result<Vec<Step>, AppError> {
        let mut steps = Vec::with_capacity(self.path.len());
        for &(stage, hours) in self.path {
            let &(stage_id, probability, outcome) = catalogue
                .stages
                .iter()
                .find(|s| s.0 == demo_id(stage))
                .ok_or_else(|| self.missing("stage"))?;
            let lost = self.lost.filter(|_| outcome == Outcome::Lost);
            steps.push(Step {
                id: DemoIds::next(&mut ids.step),
                stage_id,
                probability: step_probability(outcome, self.probability_override.map(Decimal::from), probability),
                lost_reason_id: lost.map(|(reason, _)| demo_id(reason)),
                note: lost.map(|(_, note)| note.to_owned()),
                at: now - Duration::hours(hours),
            });
        }
        Ok(steps)
    }

    /// The lines, added an hour after the creation.
    fn lines(&self, at: DateTime<Utc>, catalogue: &DemoCatalogue, ids: &mut DemoIds) -> Result<Vec<Line>, AppError> {
        let mut lines = Vec::with_capacity(self.lines.len());
        for &(article, description, quantity, cents, discount) in self.lines {
            let id = DemoIds::next(&mut ids.line);
            let (quantity, discount) = (Decimal::from(quantity), Decimal::from(discount));
            let mut line = match article {
                Some(n) => {
                    let article = catalogue
                        .articles
                        .iter()
                        .find(|a| a.id == demo_id(n))
                        .ok_or_else(|| self.missing("article"))?;
                    Line::of(id, article, quantity, discount, at)
                }
                None => Line {
                    id,
                    article_id: None,
                    sku: None,
                    description: description.to_owned(),
                    quantity,
                    unit: "Stk".to_owned(),
                    unit_price: Decimal::ZERO,
                    discount_percent: discount,
                    tax_rate: Decimal::from(19),
                    created_at: at,
                },
            };
            if let Some(cents) = cents {
                line.unit_price = Decimal::new(cents, 2);
            }
            lines.push(line);
        }
        Ok(lines)
    }

    fn draft(&self, now: DateTime<Utc>, catalogue: &DemoCatalogue, ids: &mut DemoIds) -> Result<Draft, AppError> {
        let mut steps = self.steps(now, catalogue, ids)?.into_iter();
        let start = steps.next().ok_or_else(|| self.missing("stage"))?;
        let moves: Vec<Step> = steps.collect();
        let status = catalogue
            .stages
            .iter()
            .find(|s| s.0 == moves.last().unwrap_or(&start).stage_id)
            .map_or(Outcome::Open, |s| s.2);
        let created_at = start.at;
        let last_step_at = moves.last().map_or(created_at, |s| s.at);
        let lines = self.lines(created_at + Duration::hours(1), catalogue, ids)?;
        let activities: Vec<Activity> = self
            .activities
            .iter()
            .map(|&(kind, subject, done, hours)| {
                let at = now - Duration::hours(hours);
                Activity {
                    id: DemoIds::next(&mut ids.activity),
                    kind,
                    subject: subject.to_owned(),
                    body: None,
                    done,
                    at,
                    // Planned an hour after the creation.
                    created_at: if done { at } else { created_at + Duration::hours(1) },
                }
            })
            .collect();
        let erp = self
            .erp_reference
            .map(|reference| (reference.to_owned(), last_step_at + Duration::hours(2)));
        let updated_at = activities
            .iter()
            .filter(|a| a.done)
            .map(|a| a.at)
            .chain(erp.as_ref().map(|(_, at)| *at))
            .fold(last_step_at, DateTime::max);
        Ok(Draft {
            id: demo_id(self.n),
            subject: self.subject.to_owned(),
            description: None,
            business_partner_id: demo_id(self.partner),
            class_id: self.class.to_owned(),
            funnel_id: demo_id(self.funnel),
            owner_id: demo_id(self.owner),
            currency: catalogue.currency.clone(),
            status,
            probability_override: self.probability_override.map(Decimal::from),
            manual_target: Decimal::from(self.target),
            expected_close_date: self.close_in_days.map(|days| (now + Duration::days(days)).date_naive()),
            erp,
            created_at,
            updated_at,
            lines,
            start,
            moves,
            activities,
        })
    }
}

/// Adds the demo opportunities that do not exist yet, with their lines, history and
/// activities, in one transaction; the API's refresh computes their derived columns. Existing
/// ones are left alone. Returns how many it added.
pub(super) async fn load_demo(conn: &mut Conn) -> Result<usize, AppError> {
    conn.transaction(async |conn| {
        let ids: Vec<Uuid> = DEMO.iter().map(|d| demo_id(d.n)).collect();
        let existing: Vec<Uuid> = opportunities::table
            .filter(opportunities::id.eq_any(&ids))
            .select(opportunities::id)
            .load(conn)
            .await?;
        let demo_articles: Vec<Uuid> = DEMO
            .iter()
            .flat_map(|d| d.lines.iter().filter_map(|line| line.0.map(demo_id)))
            .collect();
        let demo_stages: Vec<Uuid> = DEMO
            .iter()
            .flat_map(|d| d.path.iter().map(|step| demo_id(step.0)))
            .collect();
        let catalogue = DemoCatalogue {
            articles: articles::table
                .filter(articles::id.eq_any(&demo_articles))
                .select(ArticleRow::as_select())
                .load(conn)
                .await?,
            stages: stages::table
                .filter(stages::id.eq_any(&demo_stages))
                .select((stages::id, stages::probability, stages::outcome))
                .load(conn)
                .await?,
            currency: crate::settings::store::default_currency(conn).await?,
        };
        let now = now_in_seconds();
        let mut fixed = DemoIds {
            line: 2001,
            activity: 3001,
            step: 4001,
        };
        let mut batch = Batch::default();
        let mut added = Vec::new();
        for demo in &DEMO {
            // Built even when it exists, so that every later one keeps its ids.
            let draft = demo.draft(now, &catalogue, &mut fixed)?;
            if !existing.contains(&draft.id) {
                added.push(draft.id);
                let placeholder = draft.placeholder();
                batch.push(draft, &placeholder);
            }
        }
        batch.insert(conn, Existing::Skip).await?;
        derive::refresh(conn, &added).await?;
        demo_quotes(conn, &added).await?;
        // The demo data is the initial state (consumers take it from the lists): the quotes
        // made through the store leave no events.
        crate::events::store::discard_own(conn).await?;
        Ok(added.len())
    })
    .await
}

/// Quotes of the first three open demo opportunities with lines, made through the API's own
/// store: the first is sent, the second gets a second (draft) revision with a customer text.
async fn demo_quotes(conn: &mut Conn, added: &[Uuid]) -> Result<(), AppError> {
    use crate::access::Actor;
    use crate::access::Visibility;
    use crate::http::IfMatch;
    use crate::quotes::store::{self as quotes, NewQuote, Transition};

    let quoted: Vec<Uuid> = opportunities::table
        .filter(opportunities::id.eq_any(added))
        .filter(opportunities::status.eq(Outcome::Open))
        .filter(opportunities::line_count.gt(0))
        .order(opportunities::id)
        .limit(3)
        .select(opportunities::id)
        .load(conn)
        .await?;
    let actor = Actor {
        who: Visibility::All,
        subject: "seed".to_owned(),
        user_id: None,
    };
    let valid_until = quotes::today() + chrono::Days::new(30);
    for (i, id) in quoted.into_iter().enumerate() {
        let new = NewQuote {
            valid_until,
            header_text: None,
            footer_text: None,
            customer_text: None,
        };
        let first = quotes::create(conn, &actor, id, new.clone()).await?;
        match i {
            0 => {
                quotes::transition(conn, &actor, first.row.id, &IfMatch::default(), Transition::Send).await?;
            }
            1 => {
                let revised = NewQuote {
                    customer_text: Some("Wie besprochen mit Überführung und Zulassung.".to_owned()),
                    ..new
                };
                quotes::create(conn, &actor, id, revised).await?;
            }
            _ => {}
        }
    }
    Ok(())
}

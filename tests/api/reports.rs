//! Reports now: pipeline and owners, on hand-built data with the answers worked out by hand in
//! the comments; access rules of every report.

use reqwest::{Method, StatusCode};
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_with, spawn_app};
use crate::opportunities::{Sales, act_ok, backdate, create_as, id, new_body, sales};

pub const REPORTS: [&str; 5] = [
    "/api/v1/reports/pipeline",
    "/api/v1/reports/forecast",
    "/api/v1/reports/owners",
    "/api/v1/reports/win-loss",
    "/api/v1/reports/stage-conversion",
];

/// Creates an opportunity from `fields` laid over the default body, as admin.
pub async fn opportunity(app: &TestApp, s: &Sales, subject: &str, fields: Value) -> Value {
    let mut body = new_body(s, subject);
    for (key, value) in fields.as_object().unwrap() {
        body[key] = value.clone();
    }
    create_as(app, &app.admin(), &body).await
}

pub async fn report(app: &TestApp, token: &str, path: &str) -> Value {
    json_with(app.get(path, token).await, StatusCode::OK).await
}

/// `[currency, target, weighted]` of each amount.
fn amounts(entry: &Value) -> Vec<[String; 3]> {
    entry["amounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| ["currency", "target_value", "weighted_value"].map(|k| a[k].as_str().unwrap().to_owned()))
        .collect()
}

fn row(currency: &str, target: &str, weighted: &str) -> [String; 3] {
    [currency.to_owned(), target.to_owned(), weighted.to_owned()]
}

/// Sets the funnel's metric formula.
async fn set_formula(app: &TestApp, funnel: &str, formula: &str) {
    json_with(
        app.patch(
            &format!("/api/v1/funnels/{funnel}"),
            &app.admin(),
            &json!({"metric_formula": formula, "metric_label": "Doppelt gewichtet"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
}

/// Stages 5 % / 75 % / 90 % / won / lost (see `sales`); metric = weighted value × 2.
///   A FIRST    EUR  10,000.00 →    500.00 weighted, metric   1,000   (owner: rep R)
///   B PROPOSAL EUR 100,000.00 → 75,000.00,          metric 150,000
///   C PROPOSAL USD  20,000.00 → 15,000.00,          metric  30,000
///   D won      EUR  50,000.00 → 50,000.00,          metric 100,000
///   E lost     EUR   5,000.00 →      0.00,          metric       0
#[tokio::test]
async fn pipeline_sums_each_stage_in_funnel_order_per_currency_with_totals() {
    let app = spawn_app().await;
    let s = sales(&app, "PL").await;
    set_formula(&app, &s.funnel, "weighted_value * 2").await;
    let rep = id(&app.create_user("r@example.com", "rep").await);
    opportunity(&app, &s, "A", json!({"target_value": "10000.00", "owner_id": rep})).await;
    opportunity(&app, &s, "B", json!({"target_value": "100000", "stage_id": s.proposal})).await;
    opportunity(
        &app,
        &s,
        "C",
        json!({"target_value": 20000, "stage_id": s.proposal, "currency": "USD"}),
    )
    .await;
    let d = opportunity(&app, &s, "D", json!({"target_value": "50000.00"})).await;
    act_ok(&app, &d, "win", &json!({})).await;
    let e = opportunity(&app, &s, "E", json!({"target_value": "5000.00"})).await;
    act_ok(&app, &e, "lose", &json!({"lost_reason_id": s.reason})).await;

    let body = report(
        &app,
        &app.admin(),
        &format!("/api/v1/reports/pipeline?funnel_id={}", s.funnel),
    )
    .await;

    let funnels = body["funnels"].as_array().unwrap();
    assert_eq!(funnels.len(), 1);
    let funnel = &funnels[0];
    assert_eq!(funnel["metric_label"], "Doppelt gewichtet");
    let stages = funnel["stages"].as_array().unwrap();
    let ids: Vec<String> = stages.iter().map(id_of_stage).collect();
    assert_eq!(
        ids,
        [&s.first, &s.proposal, &s.contract, &s.won, &s.lost].map(String::clone)
    );
    let counts: Vec<i64> = stages.iter().map(|st| st["count"].as_i64().unwrap()).collect();
    assert_eq!(counts, [1, 2, 0, 1, 1]);
    assert_eq!(amounts(&stages[0]), [row("EUR", "10000.00", "500.00")]);
    assert_eq!(
        amounts(&stages[1]),
        [row("EUR", "100000.00", "75000.00"), row("USD", "20000.00", "15000.00")]
    );
    assert_eq!(amounts(&stages[2]), Vec::<[String; 3]>::new());
    assert_eq!(stages[2]["metric"], Value::Null);
    assert_eq!(amounts(&stages[3]), [row("EUR", "50000.00", "50000.00")]);
    assert_eq!(amounts(&stages[4]), [row("EUR", "5000.00", "0.00")]);
    assert_eq!(stages[1]["metric"], "180000.00");

    let totals = funnel["totals"].as_array().unwrap();
    let outcomes: Vec<&str> = totals.iter().map(|t| t["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["open", "won", "lost"]);
    assert_eq!(totals[0]["count"], 3);
    assert_eq!(
        amounts(&totals[0]),
        [row("EUR", "110000.00", "75500.00"), row("USD", "20000.00", "15000.00")]
    );
    assert_eq!(totals[0]["metric"], "181000.00");
    assert_eq!(totals[1]["count"], 1);
    assert_eq!(totals[1]["metric"], "100000.00");
    assert_eq!(amounts(&totals[2]), [row("EUR", "5000.00", "0.00")]);
    // Over all funnels shown (here the one), without a metric: formulas differ per funnel.
    assert_eq!(body["totals"][0]["count"], 3);
    assert_eq!(amounts(&body["totals"][0]), amounts(&totals[0]));
    assert!(body["totals"][0].get("metric").is_none());

    // The rep owns only A and is in no team: their pipeline is A alone.
    let mine = report(
        &app,
        &app.token_for(Role::Rep, &rep),
        &format!("/api/v1/reports/pipeline?funnel_id={}", s.funnel),
    )
    .await;
    let counts: Vec<i64> = mine["funnels"][0]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|st| st["count"].as_i64().unwrap())
        .collect();
    assert_eq!(counts, [1, 0, 0, 0, 0]);
    assert_eq!(amounts(&mine["totals"][0]), [row("EUR", "10000.00", "500.00")]);

    // Filters: the owner, the class; an unknown funnel has no rows.
    let owned = report(&app, &app.admin(), &format!("/api/v1/reports/pipeline?owner_id={rep}")).await;
    assert_eq!(owned["totals"][0]["count"], 1);
    let class = report(&app, &app.admin(), "/api/v1/reports/pipeline?class_id=PL").await;
    assert_eq!(class["totals"][0]["count"], 3);
    let other = report(&app, &app.admin(), "/api/v1/reports/pipeline?class_id=NONE").await;
    assert_eq!(other["totals"][0]["count"], 0);
    let unknown = report(
        &app,
        &app.admin(),
        &format!("/api/v1/reports/pipeline?funnel_id={}", uuid::Uuid::now_v7()),
    )
    .await;
    assert_eq!(unknown, json!({"funnels": [], "totals": []}));
}

fn id_of_stage(stage: &Value) -> String {
    stage["stage_id"].as_str().unwrap().to_owned()
}

/// Owners, by display name:
///   "ra": A (partner P1, EUR 10,000 → 500, green), B (P2, EUR 100,000 → 75,000, 20 days
///         without contact: red), G (P1, lost: not counted) → 2 open, 2 partners, 1 red
///   "rb": C (P2, USD 20,000 → 15,000, 10 days: yellow) → 1 open, 1 partner, 0 red
///   "rc": an active rep with nothing open → zeros
///   "owners.owner": the class's default owner, a rep with nothing open → zeros
#[tokio::test]
async fn owners_count_open_opportunities_partners_and_red_lights_per_rep() {
    let app = spawn_app().await;
    let s = sales(&app, "OWNERS").await;
    let ra = id(&app.create_user("ra@example.com", "rep").await);
    let rb = id(&app.create_user("rb@example.com", "rep").await);
    let rc = id(&app.create_user("rc@example.com", "rep").await);
    // Managers without opportunities are not listed; reps are.
    id(&app.create_user("manager@example.com", "manager").await);
    let p2 = id(&app.create_partner(json!({"kind": "lead", "name": "Zweite AG"})).await);
    opportunity(&app, &s, "A", json!({"owner_id": ra, "target_value": "10000"})).await;
    let b = opportunity(
        &app,
        &s,
        "B",
        json!({"owner_id": ra, "business_partner_id": p2, "stage_id": s.proposal, "target_value": "100000"}),
    )
    .await;
    backdate(&app, &b, 20).await;
    let c = opportunity(
        &app,
        &s,
        "C",
        json!({"owner_id": rb, "business_partner_id": p2, "stage_id": s.proposal, "target_value": "20000", "currency": "USD"}),
    )
    .await;
    backdate(&app, &c, 10).await;
    let g = opportunity(&app, &s, "G", json!({"owner_id": ra})).await;
    act_ok(&app, &g, "lose", &json!({"lost_reason_id": s.reason})).await;

    let body = report(&app, &app.admin(), "/api/v1/reports/owners").await;

    let owners = body["owners"].as_array().unwrap();
    let names: Vec<&str> = owners.iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["owners.owner", "ra", "rb", "rc"]);
    let figures = |o: &Value| ["open_count", "partner_count", "red_count"].map(|k| o[k].as_i64().unwrap());
    assert_eq!(figures(&owners[0]), [0, 0, 0]);
    assert_eq!(figures(&owners[1]), [2, 2, 1]);
    assert_eq!(amounts(&owners[1]), [row("EUR", "110000.00", "75500.00")]);
    assert_eq!(figures(&owners[2]), [1, 1, 0]);
    assert_eq!(amounts(&owners[2]), [row("USD", "20000.00", "15000.00")]);
    assert_eq!(owners[2]["owner_id"], rb.as_str());
    assert_eq!(figures(&owners[3]), [0, 0, 0]);
    assert_eq!(owners[3]["owner_id"], rc.as_str());

    // One owner; a rep sees their own row only (they are in no team).
    let one = report(&app, &app.admin(), &format!("/api/v1/reports/owners?owner_id={ra}")).await;
    assert_eq!(one["owners"].as_array().unwrap().len(), 1);
    assert_eq!(figures(&one["owners"][0]), [2, 2, 1]);
    let own = report(&app, &app.token_for(Role::Rep, &rb), "/api/v1/reports/owners").await;
    let names: Vec<&str> = own["owners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["rb"]);
}

#[tokio::test]
async fn every_report_needs_a_token_and_every_role_may_read_it() {
    let app = spawn_app().await;
    // Stored as admin, so that every token role is within the user's role.
    let user = id(&app.create_user("reader@example.com", "admin").await);
    for path in REPORTS {
        let response = app.anonymous(Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        for role in [Role::Admin, Role::Manager, Role::Rep, Role::Viewer, Role::Integration] {
            let response = app.get(path, &app.token_for(role, &user)).await;
            assert_eq!(response.status(), StatusCode::OK, "{path} as {role:?}");
        }
    }
}

#[tokio::test]
async fn a_rep_token_without_a_user_id_sees_nothing_in_reports() {
    let app = spawn_app().await;
    let s = sales(&app, "NOUSER").await;
    opportunity(&app, &s, "A", json!({})).await;
    let token = app.token_for(Role::Rep, "not-a-user-id");
    let body = report(
        &app,
        &token,
        &format!("/api/v1/reports/pipeline?funnel_id={}", s.funnel),
    )
    .await;
    assert_eq!(body["totals"][0]["count"], 0);
    let admin = report(
        &app,
        &app.admin(),
        &format!("/api/v1/reports/pipeline?funnel_id={}", s.funnel),
    )
    .await;
    assert_eq!(admin["totals"][0]["count"], 1);
}

#[tokio::test]
async fn malformed_report_filters_are_400() {
    let app = spawn_app().await;
    for query in [
        "/api/v1/reports/pipeline?funnel_id=nope",
        "/api/v1/reports/owners?owner_id=1",
        "/api/v1/reports/forecast?from=2026-13",
        "/api/v1/reports/forecast?from=26-01",
        "/api/v1/reports/forecast?months=-1",
        "/api/v1/reports/forecast?group_by=week",
        "/api/v1/reports/win-loss?from=2026-02-30",
        "/api/v1/reports/stage-conversion?to=yesterday",
    ] {
        let response = app.get(query, &app.admin()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
    }
}

/// The cells as the reports add them up, and the same figures straight from the opportunities;
/// both ways round, so that a cell too many or too few shows.
async fn cells_mismatch(app: &TestApp) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Mismatch {
        #[diesel(sql_type = diesel::sql_types::Text)]
        cell: String,
    }
    const KEYS: &str = "funnel_id, stage_id, owner_id, class_id, currency, status, day, lost_reason_id";
    let cells = format!(
        "SELECT {KEYS}, sum(opportunities) AS n, sum(target_value) AS t, sum(weighted_value) AS w,
                sum(metric) AS m, sum(metric_count) AS mc, round(sum(close_days), 6) AS d
         FROM (SELECT * FROM opportunity_cells UNION ALL SELECT * FROM opportunity_cell_deltas) c
         GROUP BY {KEYS} HAVING sum(opportunities) <> 0 OR sum(metric_count) <> 0"
    );
    let direct = format!(
        "SELECT {KEYS}, count(*)::numeric AS n, sum(target_value) AS t, sum(weighted_value) AS w,
                coalesce(sum(metric), 0) AS m, count(metric)::numeric AS mc,
                round(coalesce(sum(extract(epoch FROM closed_at - created_at) / 86400), 0), 6) AS d
         FROM (SELECT *, CASE WHEN status = 'open' THEN expected_close_date
                              ELSE (closed_at AT TIME ZONE 'UTC')::date END AS day FROM opportunities) o
         GROUP BY {KEYS}"
    );
    let mut conn = app.db.connect_async().await;
    let rows: Vec<Mismatch> = diesel_async::RunQueryDsl::load(
        diesel::sql_query(format!(
            "(SELECT 'cell ' || x::text AS cell FROM (({cells}) EXCEPT ({direct})) x)
             UNION ALL (SELECT 'opportunities ' || y::text FROM (({direct}) EXCEPT ({cells})) y)"
        )),
        &mut conn,
    )
    .await
    .unwrap();
    rows.into_iter().map(|r| r.cell).collect()
}

async fn compact(app: &TestApp) {
    let mut conn = app.db.connect_async().await;
    diesel_async::RunQueryDsl::execute(diesel::sql_query("SELECT compact_report_cells()"), &mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn report_cells_always_add_up_to_the_opportunities() {
    let app = spawn_app().await;
    let s = sales(&app, "CELLS").await;
    set_formula(&app, &s.funnel, "target_value / 3").await;
    let rep = id(&app.create_user("cells@example.com", "rep").await);
    let a = opportunity(
        &app,
        &s,
        "A",
        json!({"expected_close_date": "2031-01-10", "target_value": "1000"}),
    )
    .await;
    let b = opportunity(&app, &s, "B", json!({"currency": "USD", "owner_id": rep})).await;
    let c = opportunity(&app, &s, "C", json!({})).await;
    compact(&app).await;
    // Lines, a PATCH of owner and close date, moves, win, loss, reopen, a deletion.
    json_with(
        app.post(
            &format!("{}/lines", crate::opportunities::path_of(&a)),
            &app.admin(),
            &json!({"sku": "S", "description": "Teil", "quantity": "3.5", "unit": "Stk", "unit_price": "19.99"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    json_with(
        app.patch(
            &crate::opportunities::path_of(&b),
            &app.admin(),
            &json!({"owner_id": s.owner, "expected_close_date": "2031-02-01", "probability_override": 33.33}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    act_ok(&app, &a, "stage", &json!({"stage_id": s.proposal})).await;
    act_ok(&app, &a, "win", &json!({})).await;
    assert_eq!(cells_mismatch(&app).await, Vec::<String>::new());
    compact(&app).await;
    json_with(
        app.post(
            &format!("{}/lines", crate::opportunities::path_of(&b)),
            &app.admin(),
            &json!({"sku": "T", "description": "Teil", "quantity": 2, "unit": "Stk", "unit_price": "5.00"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    act_ok(&app, &b, "lose", &json!({"lost_reason_id": s.reason})).await;
    act_ok(&app, &b, "reopen", &json!({"stage_id": s.first})).await;
    let response = app.delete(&crate::opportunities::path_of(&c), &app.admin()).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // A stage's probability changes every opportunity in it.
    json_with(
        app.patch(
            &format!("/api/v1/stages/{}", s.first),
            &app.admin(),
            &json!({"probability": 12.5}),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    assert_eq!(cells_mismatch(&app).await, Vec::<String>::new());
    compact(&app).await;
    assert_eq!(cells_mismatch(&app).await, Vec::<String>::new());
    assert_eq!(count(&app, "SELECT count(*) FROM opportunity_cell_deltas").await, 0);
    // The stage cells add up the stage visits, and computing every opportunity's visits again
    // from its history changes nothing.
    let visits = "SELECT funnel_id, stage_id, owner_id, class_id, (first_entered_at AT TIME ZONE 'UTC')::date,
                         count(*)::numeric, count(*) FILTER (WHERE moved_on)::numeric,
                         count(*) FILTER (WHERE won_later)::numeric, coalesce(sum(days), 0), count(days)::numeric
                  FROM stage_visits GROUP BY 1, 2, 3, 4, 5";
    let cells = "SELECT funnel_id, stage_id, owner_id, class_id, day, sum(entered), sum(moved_on), sum(won_later),
                        sum(days), sum(days_count)
                 FROM (SELECT * FROM stage_cells UNION ALL SELECT * FROM stage_cell_deltas) c GROUP BY 1, 2, 3, 4, 5";
    let differ =
        format!("SELECT count(*) FROM ((({visits}) EXCEPT ({cells})) UNION ALL (({cells}) EXCEPT ({visits}))) x");
    assert_eq!(count(&app, &differ).await, 0);
    assert_eq!(
        count(&app, "SELECT count(*) FROM stage_visits").await,
        5,
        "A: FIRST, PROPOSAL, WON; B: FIRST (entered again on reopening), LOST; C deleted"
    );
    count(
        &app,
        "SELECT count(*) FROM (SELECT refresh_stage_visits(array_agg(id)) FROM opportunities) x",
    )
    .await;
    assert_eq!(count(&app, "SELECT count(*) FROM stage_cell_deltas").await, 0);
    // The article cells add up the lines as they are now.
    let lines = "SELECT o.funnel_id, o.owner_id, o.class_id, o.currency, o.status,
                        CASE WHEN o.status = 'open' THEN o.expected_close_date
                             ELSE (o.closed_at AT TIME ZONE 'UTC')::date END,
                        l.article_id, CASE WHEN l.article_id IS NULL THEN l.sku END, count(*)::numeric,
                        sum(l.quantity), sum(l.quantity * o.probability), sum(l.line_total),
                        sum(l.line_total * o.probability)
                 FROM opportunity_lines l JOIN opportunities o ON o.id = l.opportunity_id
                 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8";
    let articles = "SELECT funnel_id, owner_id, class_id, currency, status, day, article_id, sku, sum(lines),
                           sum(quantity), sum(quantity_x_probability), sum(value), sum(value_x_probability)
                    FROM (SELECT * FROM article_cells UNION ALL SELECT * FROM article_cell_deltas) c
                    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING sum(lines) <> 0";
    let differ =
        format!("SELECT count(*) FROM ((({lines}) EXCEPT ({articles})) UNION ALL (({articles}) EXCEPT ({lines}))) x");
    assert_eq!(count(&app, &differ).await, 0);
    assert_eq!(
        count(&app, "SELECT count(*) FROM line_contributions").await,
        2,
        "A's line and B's"
    );
}

async fn count(app: &TestApp, query: &str) -> i64 {
    let mut conn = app.db.connect_async().await;
    diesel_async::RunQueryDsl::get_result(
        diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!("({query})"))),
        &mut conn,
    )
    .await
    .unwrap()
}

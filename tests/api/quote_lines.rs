//! Quote lines: their own copy, edits of drafts, the primary quote flowing back.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::opportunities::{NOBODY, id, path_of};
use crate::quotes::*;

#[tokio::test]
async fn the_quote_keeps_its_own_copy_of_the_lines() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "CP").await;
    let quote = new_quote(&app, &opportunity).await;
    let opportunity_line = items(&app, &app.admin(), &lines_of(&opportunity)).await[0].clone();

    json_with(
        app.patch(
            &format!("{}/{}", lines_of(&opportunity), id(&opportunity_line)),
            &app.admin(),
            &json!({"quantity": 5}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    add_line(
        &app,
        &opportunity,
        &json!({"description": "Wartung", "quantity": 1, "unit_price": "999.00"}),
    )
    .await;

    let read = get_ok(&app, &quote_path(&quote)).await;
    assert_eq!(read["lines"], quote["lines"]);
    assert_eq!(read["net_total"], "100000.00");
    assert_eq!(read["gross_total"], "119000.00");
    assert_eq!(read["version"], 1);
    assert_ne!(read["lines"][0]["id"], opportunity_line["id"]);
    assert_eq!(get_ok(&app, &path_of(&opportunity)).await["target_value"], "250999.00");
}

#[tokio::test]
async fn line_edits_of_the_primary_quote_flow_back_to_the_opportunity() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "FB").await;
    let quote = new_quote(&app, &opportunity).await;
    let car = quote["lines"][0].clone();
    let (token, lines_path) = (app.admin(), lines_of(&opportunity));
    let opportunity_lines = || items(&app, &token, &lines_path);

    // Add: 2 × 50,000.00 + 4 × 250.00 = 101,000.00 net.
    let response = app
        .post(
            &quote_lines(&quote),
            &app.admin(),
            &json!({"description": "Winterräder", "quantity": 4, "unit_price": 250, "tax_rate": 19}),
        )
        .await;
    let location = header(&response, "location");
    let wheels = json_with(response, StatusCode::CREATED).await;
    assert_eq!(location, Some(line_path(&quote, &wheels)));
    assert_eq!(wheels["position"], 2);
    assert_eq!(wheels["line_total"], "1000.00");
    let read = get_ok(&app, &quote_path(&quote)).await;
    assert_eq!(
        (&read["net_total"], &read["tax_total"], &read["gross_total"]),
        (&json!("101000.00"), &json!("19190.00"), &json!("120190.00"))
    );
    assert_eq!(read["version"], 2);
    let lines = opportunity_lines().await;
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["description"], "Winterräder");
    let reread = get_ok(&app, &path_of(&opportunity)).await;
    assert_eq!(reread["target_value"], "101000.00");
    assert_eq!(reread["weighted_value"], "5050.00", "5 % of the new target");

    // Patch: 3 cars with 10 % discount = 135,000.00 + 1,000.00.
    let patched = json_with(
        app.patch(
            &line_path(&quote, &car),
            &app.admin(),
            &json!({"quantity": 3, "discount_percent": 10}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(patched["line_total"], "135000.00");
    assert_eq!(patched["version"], 2);
    let read = get_ok(&app, &quote_path(&quote)).await;
    assert_eq!(read["net_total"], "136000.00");
    assert_eq!(read["tax_total"], "25840.00");
    assert_eq!(read["gross_total"], "161840.00");
    let lines = opportunity_lines().await;
    assert_eq!(lines[0]["quantity"], patched["quantity"]);
    assert_eq!(lines[0]["line_total"], "135000.00");
    let reread = get_ok(&app, &path_of(&opportunity)).await;
    assert_eq!(reread["target_value"], "136000.00");

    // Delete: only the wheels remain.
    let deleted = app.delete(&line_path(&quote, &car), &app.admin()).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let read = get_ok(&app, &quote_path(&quote)).await;
    assert_eq!(read["net_total"], "1000.00");
    assert_eq!(read["gross_total"], "1190.00");
    assert_eq!(read["lines"].as_array().unwrap().len(), 1);
    let lines = opportunity_lines().await;
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["description"], "Winterräder");
    assert_eq!(get_ok(&app, &path_of(&opportunity)).await["target_value"], "1000.00");

    // The last line stays.
    problem(
        app.delete(&line_path(&quote, &wheels), &app.admin()).await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        app.delete(&line_path(&quote, &car), &app.admin()).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(items(&app, &app.admin(), &quote_lines(&quote)).await.len(), 1);
}

#[tokio::test]
async fn line_edits_of_another_quote_leave_the_opportunity_alone() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "NP").await;
    new_quote(&app, &opportunity).await;
    let second = new_quote(&app, &opportunity).await;
    let before = items(&app, &app.admin(), &lines_of(&opportunity)).await;
    let opportunity_before = get_ok(&app, &path_of(&opportunity)).await;

    json_with(
        app.patch(
            &line_path(&second, &second["lines"][0]),
            &app.admin(),
            &json!({"quantity": 3}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    json_with(
        app.post(
            &quote_lines(&second),
            &app.admin(),
            &json!({"description": "Wartung", "quantity": 1, "unit_price": "500.00"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;

    let second = get_ok(&app, &quote_path(&second)).await;
    assert_eq!(second["net_total"], "150500.00");
    assert_eq!(items(&app, &app.admin(), &lines_of(&opportunity)).await, before);
    let after = get_ok(&app, &path_of(&opportunity)).await;
    assert_eq!(after["target_value"], "100000.00");
    assert_eq!(after["version"], opportunity_before["version"]);
}

#[tokio::test]
async fn make_primary_switches_which_quote_the_opportunity_follows() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "MP").await;
    let first = new_quote(&app, &opportunity).await;
    let second = new_quote(&app, &opportunity).await;
    json_with(
        app.patch(
            &line_path(&second, &second["lines"][0]),
            &app.admin(),
            &json!({"quantity": 3}),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    let response = act_on(&app, &second, "make-primary").await;
    let etag = header(&response, "etag");
    let now_primary = json_with(response, StatusCode::OK).await;

    assert_eq!(now_primary["is_primary"], true);
    assert_eq!(etag, Some(format!("\"{}\"", now_primary["version"])));
    let first_now = get_ok(&app, &quote_path(&first)).await;
    assert_eq!(first_now["is_primary"], false);
    assert!(first_now["version"].as_i64() > first["version"].as_i64());
    let reread = get_ok(&app, &path_of(&opportunity)).await;
    assert_eq!(reread["primary_quote_id"], second["id"]);
    assert_eq!(reread["target_value"], "150000.00");
    let lines = items(&app, &app.admin(), &lines_of(&opportunity)).await;
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["line_total"], "150000.00");

    // The old primary no longer syncs; the new one does.
    json_with(
        app.patch(
            &line_path(&first, &first["lines"][0]),
            &app.admin(),
            &json!({"quantity": 7}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(get_ok(&app, &path_of(&opportunity)).await["target_value"], "150000.00");
    let line = items(&app, &app.admin(), &quote_lines(&second)).await[0].clone();
    json_with(
        app.patch(&line_path(&second, &line), &app.admin(), &json!({"quantity": 4}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(get_ok(&app, &path_of(&opportunity)).await["target_value"], "200000.00");

    // Making the primary quote primary again changes nothing.
    let again = act_on_ok(&app, &second, "make-primary").await;
    assert_eq!(again["version"], get_ok(&app, &quote_path(&second)).await["version"]);
    let primaries: Vec<Value> = items(&app, &app.admin(), &quotes_of(&opportunity))
        .await
        .into_iter()
        .filter(|q| q["is_primary"] == true)
        .collect();
    assert_eq!(primaries.len(), 1);
}

#[tokio::test]
async fn a_quote_line_is_checked_like_an_opportunity_line_and_can_be_read_at_its_location() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "QL").await;
    let quote = new_quote(&app, &opportunity).await;
    let article = json_with(
        app.post(
            "/api/v1/articles",
            &app.admin(),
            &json!({"sku": "WR-16", "name": "Winterrad 16 Zoll", "unit": "Satz", "unit_price": "800.00",
                    "currency": "EUR", "tax_rate": 7}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let rejected = |body: Value| {
        let app = &app;
        let path = quote_lines(&quote);
        async move {
            error_fields(
                &problem(
                    app.post(&path, &app.admin(), &body).await,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await,
            )
        }
    };

    assert_eq!(rejected(json!({"quantity": 1})).await, ["description", "unit_price"]);
    assert_eq!(
        rejected(json!({"description": "x", "quantity": 0, "unit_price": "1.00"})).await,
        ["quantity"]
    );
    assert_eq!(
        rejected(json!({"description": "x", "quantity": 1, "unit_price": "-1.00"})).await,
        ["unit_price"]
    );
    assert_eq!(
        rejected(json!({"description": "x", "quantity": 1, "unit_price": "1.00", "colour": "rot"})).await,
        ["colour"]
    );
    assert_eq!(
        rejected(json!({"article_id": NOBODY, "quantity": 1})).await,
        ["article_id"]
    );
    let line = &quote["lines"][0];
    let bad_patch = problem(
        app.patch(&line_path(&quote, line), &app.admin(), &json!({"quantity": -2}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&bad_patch), ["quantity"]);

    let response = app
        .post(
            &quote_lines(&quote),
            &app.admin(),
            &json!({"article_id": article["id"], "quantity": 2}),
        )
        .await;
    let location = header(&response, "location").unwrap();
    let wheels = json_with(response, StatusCode::CREATED).await;
    assert_eq!(wheels["sku"], "WR-16");
    assert_eq!(wheels["description"], "Winterrad 16 Zoll");
    assert_eq!(wheels["unit"], "Satz");
    assert_eq!(wheels["line_total"], "1600.00");
    assert_eq!(rate(&wheels), 7.0);

    let read = app.get(&location, &app.admin()).await;
    assert_eq!(header(&read, "etag").as_deref(), Some("\"1\""));
    assert_eq!(json_with(read, StatusCode::OK).await, wheels);
    problem(
        app.get(&format!("{}/{NOBODY}", quote_lines(&quote)), &app.admin())
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    // Seven percent on the wheels, nineteen on the cars; a rate change moves the tax.
    let quote_now = get_ok(&app, &quote_path(&quote)).await;
    let taxes: Vec<(f64, Value)> = quote_now["taxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (rate(t), t["amount"].clone()))
        .collect();
    assert_eq!(taxes, [(7.0, json!("112.00")), (19.0, json!("19000.00"))]);
    json_with(
        app.patch(&location, &app.admin(), &json!({"tax_rate": 19})).await,
        StatusCode::OK,
    )
    .await;
    let quote_now = get_ok(&app, &quote_path(&quote)).await;
    assert_eq!(quote_now["taxes"].as_array().unwrap().len(), 1);
    assert_eq!(quote_now["tax_total"], "19304.00");
    assert_eq!(quote_now["gross_total"], "120904.00");
}

#[tokio::test]
async fn an_idempotent_retry_adds_one_quote_line() {
    let app = spawn_app().await;
    let (_, opportunity) = quotable(&app, "LK").await;
    let quote = new_quote(&app, &opportunity).await;
    let post = |body: Value| {
        app.request(Method::POST, &quote_lines(&quote), &app.admin())
            .header("Idempotency-Key", "line-1")
            .json(&body)
            .send()
    };
    let body = json!({"description": "Wartung", "quantity": 1, "unit_price": "500.00"});

    let first = json_with(post(body.clone()).await.unwrap(), StatusCode::CREATED).await;
    let retry = post(body).await.unwrap();
    assert_eq!(header(&retry, "idempotent-replayed").as_deref(), Some("true"));
    let replayed = json_with(retry, StatusCode::CREATED).await;

    assert_eq!(replayed["id"], first["id"]);
    assert_eq!(items(&app, &app.admin(), &quote_lines(&quote)).await.len(), 2);
    assert_eq!(get_ok(&app, &quote_path(&quote)).await["net_total"], "100500.00");
    assert_eq!(get_ok(&app, &path_of(&opportunity)).await["target_value"], "100500.00");
}

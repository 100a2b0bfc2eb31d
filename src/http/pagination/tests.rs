use rust_decimal::Decimal;

use super::*;

const BY_NAME: SortKey = SortKey {
    name: "name",
    column: "name",
    descending: false,
    kind: KeyKind::Text,
};

fn params(limit: Option<u32>, cursor: Option<&str>) -> PageRequest {
    PageRequest {
        params: PageQuery {
            limit,
            cursor: cursor.map(str::to_owned),
            count: None,
        },
        key: CursorKey::derive(b"a test secret of at least 32 bytes!"),
    }
}

fn cursor_after(v: &str) -> String {
    let Ok(page) = Page::new(&params(Some(1), None), BY_NAME) else {
        panic!("valid page")
    };
    let paged = page.finish(vec![(v, Uuid::nil()), ("z", Uuid::nil())], |r| (r.0.to_owned(), r.1));
    paged.next_cursor.unwrap_or_default()
}

#[test]
fn limit_outside_1_to_200_is_rejected() {
    assert!(Page::new(&params(Some(0), None), BY_NAME).is_err());
    assert!(Page::new(&params(Some(201), None), BY_NAME).is_err());
    assert!(Page::new(&params(Some(200), None), BY_NAME).is_ok());
}

#[test]
fn a_cursor_round_trips_and_is_tied_to_its_sort() {
    let cursor = cursor_after("a");
    let page = Page::new(&params(None, Some(&cursor)), BY_NAME);
    assert_eq!(
        page.ok().and_then(|p| p.after),
        Some((KeyValue::Text("a".to_owned()), Uuid::nil()))
    );
    let other = SortKey {
        name: "-name",
        descending: true,
        ..BY_NAME
    };
    assert!(Page::new(&params(None, Some(&cursor)), other).is_err());
    assert!(Page::new(&params(None, Some("garbage!")), BY_NAME).is_err());
}

#[test]
fn an_empty_cursor_is_the_first_page() {
    assert!(Page::new(&params(None, Some("")), BY_NAME).is_ok_and(|p| p.after.is_none()));
}

#[test]
fn a_tampered_or_foreign_cursor_is_refused() {
    let cursor = cursor_after("a");
    let (json, tag) = cursor.split_once('.').unwrap_or_default();
    let data = URL_SAFE_NO_PAD.decode(json).unwrap_or_default();
    let forged = String::from_utf8_lossy(&data).replace("\"a\"", "\"b\"");
    let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(forged));
    assert!(Page::new(&params(None, Some(&forged)), BY_NAME).is_err());
    assert!(Page::new(&params(None, Some(json)), BY_NAME).is_err(), "unsigned");
    let mut foreign = params(None, Some(&cursor));
    foreign.key = CursorKey::derive(b"another server's secret, 32 bytes");
    assert!(Page::new(&foreign, BY_NAME).is_err());
    let short_tag = &cursor[..cursor.len() - 4];
    assert!(Page::new(&params(None, Some(short_tag)), BY_NAME).is_err());
}

#[test]
fn key_values_parse_only_what_postgresql_takes() {
    use KeyKind::{BigInt, Date, Decimal as Dec, Integer};
    for bad in ["1_000", "1_", "1__0", "1e5", "", "-", ".5", "5.", "NaN", " 1"] {
        assert_eq!(KeyValue::parse(bad, Dec), None, "{bad:?}");
    }
    assert_eq!(
        KeyValue::parse("-1000.50", Dec),
        Some(KeyValue::Decimal(Decimal::new(-100_050, 2)))
    );
    assert_eq!(KeyValue::parse("99999999999", Integer), None);
    assert_eq!(
        KeyValue::parse("99999999999", BigInt),
        Some(KeyValue::BigInt(99_999_999_999))
    );
    assert_eq!(KeyValue::parse("infinity", Date), Some(KeyValue::DateInfinity));
    assert_eq!(KeyValue::parse("-9999-01-01", Date), None);
    assert!(KeyValue::parse("2026-02-30", Date).is_none());
    assert!(KeyValue::parse("2026-12-03", Date).is_some());
    assert!(KeyValue::parse("2026-12-03T10:00:00Z", KeyKind::Timestamp).is_some());
}

#[test]
fn the_last_page_has_no_cursor() {
    let Ok(page) = Page::new(&params(Some(5), None), BY_NAME) else {
        panic!("valid page")
    };
    assert!(
        page.finish(vec![("a", Uuid::nil())], |r| (r.0.to_owned(), r.1))
            .next_cursor
            .is_none()
    );
}

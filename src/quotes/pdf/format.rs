//! German formatting of the values a quote prints: `1.234,56 €`, `2,5`, `5 %`, `22.11.2026`.
//! The caller computed (and rounded) every amount; these functions only write them down.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use serde_json::Value;

use crate::domain::custom::{self, FieldType};
use crate::domain::money::round2;

/// An amount with exactly two decimals and its currency: `1.234,56 €`, `-0,50 €`, `99,00 CHF`.
pub fn money(amount: Decimal, currency: &str) -> String {
    format!("{} {}", grouped(round2(amount), 2), currency_sign(currency))
}

/// A quantity with as many decimals as it has: `2`, `2,5`, `1.000`, `0,125`.
pub fn quantity(value: Decimal) -> String {
    let value = value.normalize();
    grouped(value, value.scale())
}

/// A percentage as German texts write it, with a space before the sign: `5 %`, `2,5 %`.
pub fn percent(value: Decimal) -> String {
    format!("{} %", quantity(value))
}

/// A date as `dd.mm.yyyy`.
pub fn date(value: NaiveDate) -> String {
    value.format("%d.%m.%Y").to_string()
}

/// A custom value as the quote prints it: money with two decimals and the currency, numbers
/// German, dates `dd.mm.yyyy`, booleans `Ja`/`Nein`, an option as its label (several joined by
/// ", "), text as it is; `None` for a value that does not fit its type.
pub fn custom_value(field_type: FieldType, value: &Value, currency: &str) -> Option<String> {
    match (field_type, value) {
        (FieldType::Money, _) => custom::decimal(value).map(|amount| money(amount, currency)),
        (FieldType::Number, _) => custom::decimal(value).map(quantity),
        (FieldType::Date, Value::String(text)) => NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().map(date),
        (FieldType::Boolean, Value::Bool(yes)) => Some(if *yes { "Ja" } else { "Nein" }.to_owned()),
        (FieldType::Text | FieldType::Enum, Value::String(text)) => Some(text.clone()),
        (FieldType::MultiEnum, Value::Array(_)) => Some(custom::text(value)),
        _ => None,
    }
}

/// `€` for euros (the font has it); other currencies keep their ISO code, which is unambiguous.
fn currency_sign(currency: &str) -> &str {
    match currency {
        "EUR" => "€",
        other => other,
    }
}

/// Writes `value` with `decimals` places, `,` as the decimal mark and `.` between thousands.
fn grouped(value: Decimal, decimals: u32) -> String {
    let plain = format!("{:.*}", decimals as usize, value.abs());
    let (whole, fraction) = plain.split_once('.').unwrap_or((plain.as_str(), ""));
    let mut out = String::with_capacity(plain.len() + whole.len() / 3 + 1);
    if value.is_sign_negative() && !value.is_zero() {
        out.push('-');
    }
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            out.push('.');
        }
        out.push(digit);
    }
    if !fraction.is_empty() {
        out.push(',');
        out.push_str(fraction);
    }
    out
}

/// The country line of a postal address: none for Germany (the sender's country), otherwise
/// the German name in capitals as DIN 5008 asks, or the code when the name is not known.
pub fn country_line(code: &str) -> Option<String> {
    let code = code.trim().to_ascii_uppercase();
    let name = match code.as_str() {
        "" | "DE" => return None,
        "AT" => "Österreich",
        "BE" => "Belgien",
        "CH" => "Schweiz",
        "CZ" => "Tschechien",
        "DK" => "Dänemark",
        "ES" => "Spanien",
        "FR" => "Frankreich",
        "GB" => "Vereinigtes Königreich",
        "IT" => "Italien",
        "LI" => "Liechtenstein",
        "LU" => "Luxemburg",
        "NL" => "Niederlande",
        "PL" => "Polen",
        "SE" => "Schweden",
        "US" => "Vereinigte Staaten",
        _ => code.as_str(),
    };
    Some(name.to_uppercase())
}

/// The company address as separate parts, whether it was entered with newlines or as one
/// line separated by commas.
pub fn address_parts(address: &str) -> Vec<&str> {
    let parts: Vec<&str> = if address.contains('\n') {
        address.lines().collect()
    } else {
        address.split(", ").collect()
    };
    parts
        .into_iter()
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect()
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly on a broken fixture")]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn money_has_two_decimals_thousand_points_and_the_euro_sign() {
        assert_eq!(money(dec("1234.5"), "EUR"), "1.234,50 €");
        assert_eq!(money(dec("119000"), "EUR"), "119.000,00 €");
        assert_eq!(money(dec("1234567.891"), "EUR"), "1.234.567,89 €");
        assert_eq!(money(dec("0"), "EUR"), "0,00 €");
        assert_eq!(money(dec("-12.5"), "CHF"), "-12,50 CHF");
        assert_eq!(money(dec("999.99"), "EUR"), "999,99 €");
    }

    #[test]
    fn quantities_and_percentages_show_only_the_decimals_they_have() {
        assert_eq!(quantity(dec("2.000")), "2");
        assert_eq!(quantity(dec("2.50")), "2,5");
        assert_eq!(quantity(dec("1000")), "1.000");
        assert_eq!(quantity(dec("0.125")), "0,125");
        assert_eq!(percent(dec("5.00")), "5 %");
        assert_eq!(percent(dec("2.5")), "2,5 %");
    }

    #[test]
    fn dates_are_day_month_year() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 7).unwrap();
        assert_eq!(date(day), "07.03.2026");
    }

    #[test]
    fn foreign_countries_get_a_german_capitalised_line_and_germany_none() {
        assert_eq!(country_line("DE"), None);
        assert_eq!(country_line("AT").as_deref(), Some("ÖSTERREICH"));
        assert_eq!(country_line("JP").as_deref(), Some("JP"));
    }
}

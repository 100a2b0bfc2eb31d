//! Times `quotes::pdf::render` for a 3-line and a 200-line quote and prints median, p99 and
//! the process's peak RSS. See bench/pdf/README.md.
//!
//! ```sh
//! cargo run --release --example quote_pdf_bench -- [--iterations N] [--write DIR]
//! ```
//! `--write DIR` also saves both documents as `DIR/quote-3.pdf` and `DIR/quote-200.pdf`.

use std::error::Error;
use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use salesfunnel::domain::quote::QuoteStatus;
use salesfunnel::quotes::pdf::{CompanyDetails, DocumentLine, PartnerAddress, QuoteDocument, render};

fn main() -> Result<(), Box<dyn Error>> {
    let mut iterations = 200_usize;
    let mut write_to = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--iterations" => iterations = args.next().ok_or("--iterations needs a number")?.parse()?,
            "--write" => write_to = Some(args.next().ok_or("--write needs a folder")?),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    println!("quote PDF rendering, {iterations} iterations each (after one warm-up render)");
    println!(
        "{:<10} {:>10} {:>10} {:>10} {:>8} {:>10}",
        "lines", "median ms", "p99 ms", "max ms", "pages", "bytes"
    );
    for lines in [3, 200] {
        let doc = quote(lines)?;
        let pdf = render(&doc)?;
        if let Some(folder) = &write_to {
            std::fs::write(format!("{folder}/quote-{lines}.pdf"), &pdf)?;
        }
        let mut times: Vec<Duration> = (0..iterations)
            .map(|_| {
                let start = Instant::now();
                let result = render(&doc);
                let elapsed = start.elapsed();
                result.map(|_| elapsed)
            })
            .collect::<Result<_, _>>()?;
        times.sort();
        let at = |quantile: f64| times[((times.len() - 1) as f64 * quantile).round() as usize];
        let pages = page_count(&pdf);
        println!(
            "{lines:<10} {:>10.2} {:>10.2} {:>10.2} {:>8} {:>10}",
            ms(at(0.5)),
            ms(at(0.99)),
            ms(at(1.0)),
            pages,
            pdf.len()
        );
    }
    println!(
        "peak RSS (VmHWM): {}",
        peak_rss().unwrap_or_else(|| "unknown".to_owned())
    );
    Ok(())
}

/// Counts the page objects (`/Type/Page`, not `/Type/Pages`).
fn page_count(pdf: &[u8]) -> usize {
    let marker = b"/Type/Page";
    pdf.windows(marker.len() + 1)
        .filter(|window| window.starts_with(marker) && window[marker.len()] != b's')
        .count()
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// VmHWM from /proc/self/status: the most resident memory the process ever had.
fn peak_rss() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    Some(line.trim_start_matches("VmHWM:").trim().to_owned())
}

fn quote(lines: i32) -> Result<QuoteDocument, Box<dyn Error>> {
    let dec = Decimal::from_str;
    let unit_price = dec("1234.56")?;
    let quantity = dec("2.5")?;
    let discount = dec("5")?;
    let line_total = (unit_price * quantity * (Decimal::ONE_HUNDRED - discount) / Decimal::ONE_HUNDRED).round_dp(2);
    let net_total = line_total * Decimal::from(lines);
    let tax = (net_total * dec("0.19")?).round_dp(2);
    Ok(QuoteDocument {
        company_name: "Nordlicht Fahrzeughandel GmbH".to_owned(),
        company_address: "Hafenstraße 12\n20457 Hamburg\nTel. +49 40 123456-0\nwww.nordlicht-fahrzeuge.de".to_owned(),
        company: CompanyDetails {
            register_court: Some("Amtsgericht Hamburg".to_owned()),
            register_number: Some("HRB 98765".to_owned()),
            managing_directors: Some("Jana Nordlicht, Ole Hansen".to_owned()),
            vat_id: Some("DE811234567".to_owned()),
            iban: Some("DE89 3704 0044 0532 0130 00".to_owned()),
            bic: Some("COBADEFFXXX".to_owned()),
            bank_name: Some("Commerzbank Hamburg".to_owned()),
            ..CompanyDetails::default()
        },
        number: "QT-000042".to_owned(),
        revision: 2,
        status: QuoteStatus::Sent,
        acceptance: None,
        date: NaiveDate::from_ymd_opt(2026, 11, 22).ok_or("date")?,
        valid_until: NaiveDate::from_ymd_opt(2026, 12, 22).ok_or("date")?,
        currency: "EUR".to_owned(),
        partner: PartnerAddress {
            name: "Autohaus Müller GmbH".to_owned(),
            street: Some("Königsallee 5".to_owned()),
            postal_code: Some("40212".to_owned()),
            city: Some("Düsseldorf".to_owned()),
            country: Some("DE".to_owned()),
            contact: Some("Frau Dr. Anna Schmidt".to_owned()),
            vat_id: Some("DE123456789".to_owned()),
        },
        subject: "Flottenerneuerung Außendienst 2027".to_owned(),
        header_text: "Sehr geehrte Damen und Herren,\n\nvielen Dank für Ihre Anfrage und das freundliche Gespräch. \
                      Gern unterbreiten wir Ihnen das folgende Angebot:"
            .to_owned(),
        custom_fields: vec![("Leasinglaufzeit (Monate)".to_owned(), "36".to_owned())],
        customer_text: Some(
            "Wie besprochen sind die Überführung nach Düsseldorf und die Zulassung im Preis enthalten.".to_owned(),
        ),
        footer_text: "Alle Preise verstehen sich zuzüglich der gesetzlichen Umsatzsteuer. Zahlbar innerhalb von \
                      14 Tagen nach Lieferung ohne Abzug.\n\nMit freundlichen Grüßen\n\nNordlicht Fahrzeughandel GmbH"
            .to_owned(),
        lines: (1..=lines)
            .map(|position| DocumentLine {
                position,
                sku: Some(format!("ZB-{position:04}")),
                description: format!(
                    "Zubehörpaket {position}: Dachträger, Fußmatten in Größe L und Kofferraumwanne, fachgerecht montiert"
                ),
                long_description: None,
                quantity,
                unit: "Stk.".to_owned(),
                unit_price,
                discount_percent: discount,
                tax_rate: Decimal::from(19),
                line_total,
            })
            .collect(),
        net_total,
        taxes: vec![(Decimal::from(19), tax)],
        tax_total: tax,
        gross_total: net_total + tax,
    })
}

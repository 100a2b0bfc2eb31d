//! A quote (Angebot) as a business PDF: a pure function from the quote's printable content
//! to the bytes of an A4 document, with no database access. The caller computes every
//! amount; the renderer only formats and places them.
//!
//! Text is set in DejaVu Sans Condensed, compiled into the binary by the `dejavu` crate and
//! embedded as a subset by krilla, with ToUnicode maps so that every text (ä ö ü ß €
//! included) can be searched and extracted.

mod canvas;
mod flow;
mod footer;
pub(crate) mod format;
mod layout;
pub mod offer;
mod table;
mod text;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::domain::quote::QuoteStatus;

/// The recipient's postal address, printed in the window-envelope field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerAddress {
    /// The business partner's name, the first line of the address.
    pub name: String,
    /// Street and house number.
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2; printed (in German, in capitals) unless it is `DE`.
    pub country: Option<String>,
    /// The contact person (see [`person_name`]), printed as `z. Hd. …` under the name.
    pub contact: Option<String>,
    /// The partner's VAT identification number (not printed; in the machine-readable offer).
    pub vat_id: Option<String>,
}

/// The legal, bank and contact lines of the page footer, as the settings hold them; any may be
/// missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompanyDetails {
    /// Registergericht, e.g. `Amtsgericht München`.
    pub register_court: Option<String>,
    /// Handelsregister number, e.g. `HRB 123456`.
    pub register_number: Option<String>,
    pub managing_directors: Option<String>,
    /// USt-IdNr.
    pub vat_id: Option<String>,
    /// Steuernummer.
    pub tax_number: Option<String>,
    pub iban: Option<String>,
    pub bic: Option<String>,
    pub bank_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
}

/// A person's name as an address prints it: the given parts (salutation, title, first and last
/// name) trimmed and joined by spaces, empty ones skipped: `Frau Dr. Anna Schmidt`.
pub fn person_name(parts: &[Option<String>]) -> String {
    parts
        .iter()
        .flatten()
        .map(|part| part.trim())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// One row of the line table, as the quote stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentLine {
    /// The position number printed in the first column (1, 2, …).
    pub position: i32,
    /// The article number, if the line refers to an article.
    pub sku: Option<String>,
    /// What is offered; long texts wrap, newlines are kept.
    pub description: String,
    /// Details printed under the description, in a lighter colour.
    pub long_description: Option<String>,
    pub quantity: Decimal,
    /// The unit of the quantity (`Stk.`, `h`, `pauschal`).
    pub unit: String,
    /// Net price per unit, before the discount.
    pub unit_price: Decimal,
    /// Discount in percent (0–100); a zero discount leaves the cell empty.
    pub discount_percent: Decimal,
    /// The line's VAT rate in percent. Not printed per line: the totals show one row per rate.
    pub tax_rate: Decimal,
    /// Net total of the line after the discount, as computed by the caller.
    pub line_total: Decimal,
}

/// Everything the PDF of a quote shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteDocument {
    /// The selling company (letterhead, sender line, page footer).
    pub company_name: String,
    /// The company's postal address: parts separated by newlines or by ", ".
    pub company_address: String,
    /// Register, directors, tax ids, bank and contact: the columns of the page footer.
    pub company: CompanyDetails,
    /// The quote number, e.g. `QT-000042`.
    pub number: String,
    /// 1 for the first version; from 2 on it is printed beside the number.
    pub revision: i32,
    /// The status as the API shows it; a draft (also an expired one: it was never sent)
    /// carries a large "ENTWURF" across every page.
    pub status: QuoteStatus,
    /// For an accepted quote, the line saying when and by whom ("Angenommen am 04.12.2026 von
    /// Anna Schmidt"), printed under the totals.
    pub acceptance: Option<String>,
    /// The date of the quote.
    pub date: NaiveDate,
    /// The last day the offer is binding ("Gültig bis").
    pub valid_until: NaiveDate,
    /// ISO 4217 code; `EUR` prints as `€`, others as their code.
    pub currency: String,
    pub partner: PartnerAddress,
    /// The opportunity's subject, printed in bold above the texts.
    pub subject: String,
    /// The opening text (salutation and introduction).
    pub header_text: String,
    /// A text written for this customer, printed after the header text.
    pub customer_text: Option<String>,
    /// The custom fields flagged `show_on_quote` that have a value, as `(label, value)`, printed
    /// below the texts as "label: value".
    pub custom_fields: Vec<(String, String)>,
    /// The closing text after the totals (terms, greeting).
    pub footer_text: String,
    /// The table rows, in the order given.
    pub lines: Vec<DocumentLine>,
    /// Sum of the line totals.
    pub net_total: Decimal,
    /// `(rate in percent, tax amount)` per rate, ascending by rate: one "USt." row each.
    pub taxes: Vec<(Decimal, Decimal)>,
    /// The sum of the taxes.
    pub tax_total: Decimal,
    /// Net total plus taxes.
    pub gross_total: Decimal,
}

impl QuoteDocument {
    /// Not sent yet: not an offer the customer can accept.
    pub fn is_draft(&self) -> bool {
        matches!(self.status, QuoteStatus::Draft | QuoteStatus::Expired)
    }
}

/// Why a quote could not be rendered. None of these depend on the document's content; each
/// means a broken build or a bug, and maps to a 500.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the built-in font could not be read")]
    Font,
    #[error("invalid layout: {0}")]
    Layout(&'static str),
    #[error("the PDF could not be written: {0}")]
    Write(String),
}

/// Renders the quote as a PDF (A4 portrait, German labels), breaking long tables across
/// pages with the table header repeated and "Seite x von n" on every page. The quote is also
/// embedded as `angebot.json` ([`offer::MachineReadableOffer`]) for the buyer's systems.
pub fn render(doc: &QuoteDocument) -> Result<Vec<u8>, PdfError> {
    let fonts = text::Fonts::shared()?;
    let pages = layout::compose(doc, fonts);
    let offer = serde_json::to_vec_pretty(&offer::MachineReadableOffer::of(doc)?)
        .map_err(|error| PdfError::Write(error.to_string()))?;
    let attachment = canvas::Attachment {
        name: offer::FILE_NAME.to_owned(),
        mime_type: "application/json",
        description: format!("Angebot {} als JSON (MachineReadableOffer)", doc.number),
        data: offer,
    };
    canvas::write(&pages, fonts, &format!("Angebot {}", doc.number), attachment)
}

/// [`render`] on actix's blocking threads (layout is CPU work, kept off the async workers).
pub async fn render_off_workers(document: QuoteDocument) -> Result<Vec<u8>, crate::error::AppError> {
    use crate::error::AppError;
    actix_web::web::block(move || render(&document))
        .await
        .map_err(|e| AppError::Internal(format!("PDF rendering did not finish: {e}")))?
        .map_err(|e| AppError::Internal(format!("PDF rendering failed: {e}")))
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly on a broken fixture")]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn line(
        position: i32,
        sku: &str,
        description: &str,
        quantity: &str,
        unit_price: &str,
        total: &str,
    ) -> DocumentLine {
        DocumentLine {
            position,
            sku: Some(sku.to_owned()),
            description: description.to_owned(),
            long_description: None,
            quantity: dec(quantity),
            unit: "Stk.".to_owned(),
            unit_price: dec(unit_price),
            discount_percent: Decimal::ZERO,
            tax_rate: dec("19"),
            line_total: dec(total),
        }
    }

    /// Two cars at 50.000,00 and two free extras: net 100.000,00, VAT 19.000,00, gross 119.000,00.
    pub(super) fn three_line_quote() -> QuoteDocument {
        QuoteDocument {
            company_name: "Nordlicht Fahrzeughandel GmbH".to_owned(),
            company_address: "Hafenstraße 12, 20457 Hamburg".to_owned(),
            company: CompanyDetails::default(),
            number: "QT-000042".to_owned(),
            revision: 2,
            status: QuoteStatus::Sent,
            acceptance: None,
            date: NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
            valid_until: NaiveDate::from_ymd_opt(2026, 12, 22).unwrap(),
            currency: "EUR".to_owned(),
            partner: PartnerAddress {
                name: "Autohaus Müller GmbH".to_owned(),
                street: Some("Königsallee 5".to_owned()),
                postal_code: Some("40212".to_owned()),
                city: Some("Düsseldorf".to_owned()),
                country: Some("DE".to_owned()),
                contact: None,
                vat_id: None,
            },
            subject: "Flottenerneuerung Außendienst 2027".to_owned(),
            header_text: "Sehr geehrte Damen und Herren,\n\nvielen Dank für Ihre Anfrage. Gern bieten wir Ihnen an:"
                .to_owned(),
            customer_text: Some("Wie besprochen inklusive Überführung nach Düsseldorf.".to_owned()),
            custom_fields: vec![("Leasinglaufzeit (Monate)".to_owned(), "36".to_owned())],
            footer_text: "Zahlbar innerhalb von 14 Tagen ohne Abzug.\n\nMit freundlichen Grüßen\nIhr Nordlicht-Team"
                .to_owned(),
            lines: vec![
                line(
                    1,
                    "EV-500-L",
                    "Elektro-Kombi Größe L, Allradantrieb",
                    "2",
                    "50000",
                    "100000",
                ),
                line(2, "FM-01", "Fußmatten Velours, passgenau", "2", "0", "0"),
                line(3, "UEB", "Überführung und Zulassung", "1", "0", "0"),
            ],
            net_total: dec("100000.00"),
            taxes: vec![(dec("19"), dec("19000.00"))],
            tax_total: dec("19000.00"),
            gross_total: dec("119000.00"),
        }
    }

    fn long_quote(lines: i32) -> QuoteDocument {
        let mut doc = three_line_quote();
        doc.lines = (1..=lines)
            .map(|n| {
                let description = format!("Zubehörpaket {n}: Dachträger, Fußmatten und Kofferraumwanne, montiert");
                line(n, &format!("ZB-{n:04}"), &description, "2.5", "1234.56", "3086.40")
            })
            .collect();
        doc
    }

    /// The text as pdf-extract reads it, one string per page, with runs of whitespace
    /// collapsed so the checks do not depend on how it joins positioned texts.
    fn extract_pages(pdf: &[u8]) -> Vec<String> {
        pdf_extract::extract_text_from_mem_by_pages(pdf)
            .unwrap()
            .iter()
            .map(|page| page.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    #[test]
    fn the_output_is_a_pdf() {
        let pdf = render(&three_line_quote()).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.len() < 200_000, "fonts are subset: {} bytes", pdf.len());
    }

    #[test]
    fn a_three_line_quote_reads_back_with_umlauts_amounts_and_labels() {
        let pdf = render(&three_line_quote()).unwrap();

        let pages = extract_pages(&pdf);

        assert_eq!(pages.len(), 1);
        let text = &pages[0];
        for expected in [
            "Angebot",
            "QT-000042",
            "Revision 2",
            "22.11.2026",
            "Gültig bis",
            "22.12.2026",
            "Autohaus Müller GmbH",
            "Königsallee 5",
            "40212 Düsseldorf",
            "Flottenerneuerung Außendienst 2027",
            "Elektro-Kombi Größe L, Allradantrieb",
            "Fußmatten Velours, passgenau",
            "Überführung und Zulassung",
            "EV-500-L",
            "50.000,00 €",
            "Nettobetrag",
            "100.000,00 €",
            "USt. 19 %",
            "19.000,00 €",
            "Gesamtbetrag",
            "119.000,00 €",
            "Mit freundlichen Grüßen",
            "Seite 1 von 1",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in {text}");
        }
    }

    #[test]
    fn two_hundred_lines_span_several_pages_with_the_table_header_on_each() {
        let pdf = render(&long_quote(200)).unwrap();

        let pages = extract_pages(&pdf);

        assert!(pages.len() >= 4, "{} pages", pages.len());
        let count = pages.len();
        for (index, page) in pages.iter().enumerate() {
            assert!(page.contains("Beschreibung"), "no table header on page {}", index + 1);
            assert!(
                page.contains(&format!("Seite {} von {count}", index + 1)),
                "no page number on page {}",
                index + 1
            );
        }
        let all = pages.join(" ");
        for position in [1, 57, 200] {
            assert!(
                all.contains(&format!("Zubehörpaket {position}:")),
                "line {position} is missing"
            );
        }
        assert!(pages[count - 1].contains("Gesamtbetrag"));
    }

    #[test]
    fn quantities_discounts_and_foreign_addresses_are_written_the_german_way() {
        let mut doc = three_line_quote();
        doc.revision = 1;
        doc.partner.country = Some("AT".to_owned());
        doc.lines[1].quantity = dec("2.5");
        doc.lines[1].discount_percent = dec("5");
        doc.taxes = vec![(dec("7"), dec("0")), (dec("19"), dec("19000"))];

        let text = extract_pages(&render(&doc).unwrap()).join(" ");

        for expected in ["2,5", "5 %", "ÖSTERREICH", "USt. 7 %", "USt. 19 %"] {
            assert!(text.contains(expected), "missing {expected:?} in {text}");
        }
        assert!(!text.contains("Revision"), "the first revision is not mentioned");
    }

    #[test]
    fn the_contact_person_is_addressed_under_the_partner_name() {
        let mut doc = three_line_quote();
        doc.partner.contact = Some(person_name(&[
            Some("Frau".to_owned()),
            Some("Dr.".to_owned()),
            None,
            Some("Anna Schmidt".to_owned()),
        ]));

        let text = extract_pages(&render(&doc).unwrap()).join(" ");

        let at = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("no {needle:?} in {text}"));
        assert!(
            at("Autohaus Müller GmbH") < at("z. Hd. Frau Dr. Anna Schmidt"),
            "{text}"
        );
        assert!(at("z. Hd. Frau Dr. Anna Schmidt") < at("Königsallee 5"), "{text}");
        let without = extract_pages(&render(&three_line_quote()).unwrap()).join(" ");
        assert!(!without.contains("z. Hd."), "{without}");
    }

    #[test]
    fn a_person_name_skips_empty_parts() {
        let parts = |p: [&str; 4]| p.map(|s| Some(s.to_owned()));
        assert_eq!(
            person_name(&parts(["Frau", "Dr.", "Anna", "Schmidt"])),
            "Frau Dr. Anna Schmidt"
        );
        assert_eq!(person_name(&parts(["Herr", " ", "", "Meier"])), "Herr Meier");
        assert_eq!(person_name(&[None, None, None, Some("Meier".to_owned())]), "Meier");
    }

    #[test]
    fn a_description_taller_than_a_page_continues_on_the_next() {
        let mut doc = three_line_quote();
        doc.lines[0].description = (1..=150)
            .map(|n| format!("Ausstattungsmerkmal Nummer {n}"))
            .collect::<Vec<_>>()
            .join("\n");

        let pages = extract_pages(&render(&doc).unwrap());

        assert!(pages.len() >= 3, "{} pages", pages.len());
        let all = pages.join(" ");
        assert_eq!(all.matches("Ausstattungsmerkmal Nummer").count(), 150);
        assert!(all.contains("Ausstattungsmerkmal Nummer 150"));
        assert!(pages[0].contains("Beschreibung"), "the row starts on the first page");
    }

    #[test]
    fn a_quote_without_lines_or_optional_texts_still_renders() {
        let mut doc = three_line_quote();
        doc.lines.clear();
        doc.customer_text = None;
        doc.footer_text = String::new();
        doc.partner = PartnerAddress {
            name: "Ölmühle Groß".to_owned(),
            street: None,
            postal_code: None,
            city: None,
            country: None,
            contact: None,
            vat_id: None,
        };

        let text = extract_pages(&render(&doc).unwrap()).join(" ");

        assert!(text.contains("Ölmühle Groß"));
        assert!(text.contains("Gesamtbetrag"));
    }
}

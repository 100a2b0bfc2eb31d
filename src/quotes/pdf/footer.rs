//! The page footer of a German business letter: the company's details in columns (name and
//! address | register, directors, tax ids | bank | contact) under a rule, with "Seite x von n"
//! above it. The same on every page; its height is known before the layout starts, so the
//! flow stops above it.

use super::QuoteDocument;
use super::canvas::{Align, HAIRLINE, MUTED, PAGE_HEIGHT, Page, Style};
use super::flow::{LEFT, RIGHT, SMALL};
use super::format::address_parts;
use super::text::{Fonts, Shaped, Weight};

const TEXT: Style = Style::new(Weight::Regular, 6.5, MUTED);
const NAME: Style = Style::new(Weight::Bold, 6.5, MUTED);
const LEADING: f32 = 8.0;
/// The last line's baseline sits this far above the paper's edge.
const MARGIN: f32 = 10.0 * 72.0 / 25.4;
/// Between two columns.
const GAP: f32 = 8.0;
/// From the rule up to the page number's baseline, and from there up to the content.
const ABOVE_RULE: f32 = 4.0;
const CLEARANCE: f32 = 14.0;

/// The footer's columns, wrapped to their widths; each line with its style.
pub struct Footer {
    columns: Vec<(f32, Vec<(Shaped, Style)>)>,
    lines: usize,
}

impl Footer {
    pub fn new(fonts: &Fonts, doc: &QuoteDocument) -> Self {
        let texts: Vec<Vec<(String, Style)>> = column_texts(doc)
            .into_iter()
            .filter(|column| !column.is_empty())
            .collect();
        let count = texts.len().max(1) as f32;
        let width = (RIGHT - LEFT - GAP * (count - 1.0)) / count;
        let columns: Vec<(f32, Vec<(Shaped, Style)>)> = texts
            .into_iter()
            .enumerate()
            .map(|(index, column)| {
                let lines = column
                    .into_iter()
                    .flat_map(|(text, style)| {
                        fonts
                            .wrap(&text, style.weight, style.size, width)
                            .into_iter()
                            .map(move |line| (line, style))
                    })
                    .collect();
                (LEFT + index as f32 * (width + GAP), lines)
            })
            .collect();
        let lines = columns.iter().map(|(_, lines)| lines.len()).max().unwrap_or(0).max(1);
        Self { columns, lines }
    }

    /// The baseline of the first footer line.
    fn first_baseline(&self) -> f32 {
        PAGE_HEIGHT - MARGIN - LEADING * (self.lines as f32 - 1.0)
    }

    fn rule(&self) -> f32 {
        self.first_baseline() - LEADING - 1.0
    }

    /// Where the content of a page must end: above the page number and the rule.
    pub fn content_bottom(&self) -> f32 {
        self.rule() - ABOVE_RULE - CLEARANCE
    }

    /// Draws the footer and "Seite `number` von `count`".
    pub fn draw(&self, page: &mut Page, fonts: &Fonts, number: usize, count: usize) {
        let rule = self.rule();
        page.text(
            fonts,
            &format!("Seite {number} von {count}"),
            SMALL,
            RIGHT,
            rule - ABOVE_RULE,
            Align::Right,
        );
        page.line((LEFT, rule), (RIGHT, rule), 0.5, HAIRLINE);
        for (x, lines) in &self.columns {
            let mut baseline = self.first_baseline();
            for (line, style) in lines {
                page.run(line.clone(), *style, *x, baseline, Align::Left);
                baseline += LEADING;
            }
        }
    }
}

/// The texts of the four columns; a column without any detail is left out.
fn column_texts(doc: &QuoteDocument) -> [Vec<(String, Style)>; 4] {
    let c = &doc.company;
    let company = std::iter::once((doc.company_name.trim().to_owned(), NAME))
        .chain(
            address_parts(&doc.company_address)
                .into_iter()
                .map(|part| (part.to_owned(), TEXT)),
        )
        .collect();
    let register = [c.register_court.as_deref(), c.register_number.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let legal = [
        Some(register).filter(|r| !r.is_empty()),
        labelled("Geschäftsführer", &c.managing_directors),
        labelled("USt-IdNr.", &c.vat_id),
        labelled("Steuernr.", &c.tax_number),
    ];
    let bank = [c.bank_name.clone(), labelled("IBAN", &c.iban), labelled("BIC", &c.bic)];
    let contact = [
        labelled("Tel.", &c.phone),
        labelled("E-Mail", &c.email),
        c.website.as_deref().map(web_address),
    ];
    let plain = |texts: &[Option<String>]| texts.iter().flatten().map(|text| (text.clone(), TEXT)).collect();
    [company, plain(&legal), plain(&bank), plain(&contact)]
}

fn labelled(label: &str, value: &Option<String>) -> Option<String> {
    value.as_deref().map(|value| format!("{label}: {value}"))
}

/// A web address as people write it on paper: without `https://` and a trailing slash.
fn web_address(url: &str) -> String {
    let bare = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    bare.strip_suffix('/').unwrap_or(bare).to_owned()
}

/// The details a complete German offer prints (for tests of the footer and the document).
#[cfg(test)]
pub fn complete_details() -> super::CompanyDetails {
    let text = |value: &str| Some(value.to_owned());
    super::CompanyDetails {
        register_court: text("Amtsgericht Hamburg"),
        register_number: text("HRB 98765"),
        managing_directors: text("Jana Nordlicht, Ole Hansen"),
        vat_id: text("DE811234567"),
        tax_number: text("22/123/45678"),
        iban: text("DE89 3704 0044 0532 0130 00"),
        bic: text("COBADEFFXXX"),
        bank_name: text("Commerzbank Hamburg"),
        phone: text("+49 40 123456"),
        email: text("angebote@nordlicht.example"),
        website: text("https://www.nordlicht.example/"),
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly on a broken fixture")]
mod tests {
    use super::*;

    #[test]
    fn empty_details_leave_only_the_company_column() {
        let columns = column_texts(&super::super::tests::three_line_quote());
        assert_eq!(columns.iter().filter(|c| !c.is_empty()).count(), 1);
    }

    #[test]
    fn every_detail_is_in_its_column_and_the_footer_grows_upwards() {
        let mut doc = super::super::tests::three_line_quote();
        let short = Footer::new(Fonts::shared().unwrap(), &doc);
        doc.company = complete_details();
        let columns = column_texts(&doc);
        let texts: Vec<Vec<&str>> = columns
            .iter()
            .map(|c| c.iter().map(|(t, _)| t.as_str()).collect())
            .collect();
        assert_eq!(texts[1][0], "Amtsgericht Hamburg HRB 98765");
        assert!(texts[1].contains(&"USt-IdNr.: DE811234567"));
        assert_eq!(
            texts[2],
            [
                "Commerzbank Hamburg",
                "IBAN: DE89 3704 0044 0532 0130 00",
                "BIC: COBADEFFXXX"
            ]
        );
        assert_eq!(texts[3][2], "www.nordlicht.example");
        let full = Footer::new(Fonts::shared().unwrap(), &doc);
        assert!(full.lines >= 4);
        assert!(full.content_bottom() <= short.content_bottom());
        assert!(full.content_bottom() < full.rule() && full.rule() < full.first_baseline());
    }
}

//! Where everything goes: the first page follows DIN 5008 form B (letterhead, window-envelope
//! address field, information block on the right, fold marks), then the subject, the texts,
//! the line table, the totals and the closing text flow down the pages. Every page gets a
//! footer with "Seite x von n", pages after the first a running head.

use super::QuoteDocument;
use super::canvas::{ACCENT, Align, HAIRLINE, INK, MUTED, PAGE_HEIGHT, PAGE_WIDTH, Page, SHADE, Style, WATERMARK, mm};
use super::flow::{Flow, LEFT, RIGHT};
use super::footer::Footer;
use super::format::{self, address_parts};
use super::table;
use super::text::{Fonts, Shaped, Weight};

const BODY: Style = Style::new(Weight::Regular, 9.5, INK);
const BODY_LEADING: f32 = 13.5;
const SUBJECT: Style = Style::new(Weight::Bold, 11.0, INK);
const LABEL: Style = Style::new(Weight::Regular, 9.0, MUTED);
const VALUE: Style = Style::new(Weight::Bold, 9.0, INK);
const ADDRESS: Style = Style::new(Weight::Regular, 10.0, INK);
const GROSS: Style = Style::new(Weight::Bold, 10.5, INK);

/// Lays out the whole quote.
pub fn compose(doc: &QuoteDocument, fonts: &Fonts) -> Vec<Page> {
    let running_head = format!("Angebot {} vom {}", number_with_revision(doc), format::date(doc.date));
    let footer = Footer::new(fonts, doc);
    let mut flow = Flow::new(fonts, running_head, doc.company_name.clone(), footer.content_bottom());
    letterhead(flow.page(), fonts, doc);
    fold_marks(flow.page());
    address_field(flow.page(), fonts, doc);
    information_block(flow.page(), fonts, doc);

    flow.y = mm(98.5);
    flow.paragraph(&doc.subject, SUBJECT, 15.0);
    flow.y += BODY_LEADING * 0.8;
    for text in [Some(&doc.header_text), doc.customer_text.as_ref()]
        .into_iter()
        .flatten()
    {
        if !text.trim().is_empty() {
            flow.paragraph(text, BODY, BODY_LEADING);
            flow.y += BODY_LEADING * 0.6;
        }
    }
    for (label, value) in &doc.custom_fields {
        flow.paragraph(&format!("{label}: {value}"), BODY, BODY_LEADING);
    }
    if !doc.custom_fields.is_empty() {
        flow.y += BODY_LEADING * 0.6;
    }
    flow.y += 6.0;
    table::draw(&mut flow, doc);
    totals(&mut flow, doc);
    if let Some(acceptance) = &doc.acceptance {
        flow.y += BODY_LEADING * 1.5;
        flow.paragraph(acceptance, SUBJECT, 15.0);
    }
    if !doc.footer_text.trim().is_empty() {
        flow.y += BODY_LEADING * 1.5;
        flow.paragraph(&doc.footer_text, BODY, BODY_LEADING);
    }
    flow.finish(|page, fonts, number, count| {
        footer.draw(page, fonts, number, count);
        if doc.is_draft() {
            draft_mark(page, fonts);
        }
    })
}

/// "ENTWURF" in large light letters diagonally across the page, beneath the content: a draft
/// is not an offer yet.
fn draft_mark(page: &mut Page, fonts: &Fonts) {
    let style = Style::new(Weight::Bold, 110.0, WATERMARK);
    let run = fonts.shape("ENTWURF", style.weight);
    // From lower left to upper right, centred on the page.
    let angle: f32 = -(PAGE_HEIGHT / PAGE_WIDTH).atan().to_degrees().min(55.0);
    let half = run.width(style.size) / 2.0;
    let (sin, cos) = angle.to_radians().sin_cos();
    let centre = (PAGE_WIDTH / 2.0, PAGE_HEIGHT / 2.0);
    // The baseline's start, so that the middle of the word (a third of the size above the
    // baseline) is the centre of the page.
    let lift = style.size / 3.0;
    let start = (centre.0 - half * cos - lift * sin, centre.1 - half * sin + lift * cos);
    page.underlay(run, style, start, angle);
}

/// `QT-000042`, or `QT-000042 (Revision 2)` once the quote was revised.
fn number_with_revision(doc: &QuoteDocument) -> String {
    if doc.revision > 1 {
        format!("{} (Revision {})", doc.number, doc.revision)
    } else {
        doc.number.clone()
    }
}

fn letterhead(page: &mut Page, fonts: &Fonts, doc: &QuoteDocument) {
    let name = Style::new(Weight::Bold, 17.0, ACCENT);
    page.text(fonts, &doc.company_name, name, LEFT, mm(20.0), Align::Left);
    let details = address_parts(&doc.company_address).join("  ·  ");
    page.text(
        fonts,
        &details,
        Style::new(Weight::Regular, 8.5, MUTED),
        LEFT,
        mm(26.5),
        Align::Left,
    );
    page.line((LEFT, mm(30.5)), (RIGHT, mm(30.5)), 0.8, ACCENT);
}

/// Marks at the left edge for folding into a DL window envelope and for the hole punch.
fn fold_marks(page: &mut Page) {
    for (y, length) in [(mm(105.0), mm(5.0)), (mm(148.5), mm(7.0)), (mm(210.0), mm(5.0))] {
        page.line((mm(4.0), y), (mm(4.0) + length, y), 0.5, HAIRLINE);
    }
}

/// The address field of a window envelope (DIN 5008 form B: 20 mm from the left, 45 mm from
/// the top, 85 × 45 mm): the sender in small print, underlined, then the recipient.
fn address_field(page: &mut Page, fonts: &Fonts, doc: &QuoteDocument) {
    let (sender, size) = sender_line(fonts, doc);
    let width = sender.width(size);
    let baseline = mm(58.0);
    page.run(
        sender,
        Style::new(Weight::Regular, size, MUTED),
        LEFT,
        baseline,
        Align::Left,
    );
    page.line((LEFT, baseline + 2.0), (LEFT + width, baseline + 2.0), 0.4, MUTED);

    let mut baseline = mm(67.0);
    for text in recipient_lines(doc) {
        for line in fonts.wrap(&text, ADDRESS.weight, ADDRESS.size, mm(85.0)) {
            page.run(line, ADDRESS, LEFT, baseline, Align::Left);
            baseline += 13.0;
        }
    }
}

/// The sender line above the recipient, in 6 to 7 points: the company and as many parts of
/// its address as fit the window on one line. Phone numbers and web addresses usually come
/// last, so they are the ones left out.
fn sender_line(fonts: &Fonts, doc: &QuoteDocument) -> (Shaped, f32) {
    let window = mm(80.0);
    let parts = address_parts(&doc.company_address);
    let mut line = fonts.shape(doc.company_name.trim(), Weight::Regular);
    for keep in (1..=parts.len()).rev() {
        let text = std::iter::once(doc.company_name.trim())
            .chain(parts[..keep].iter().copied())
            .collect::<Vec<_>>()
            .join(" · ");
        let candidate = fonts.shape(&text, Weight::Regular);
        if candidate.width(6.0) <= window {
            line = candidate;
            break;
        }
    }
    let size = (window / line.width(1.0).max(1.0)).min(7.0);
    (line, size)
}

/// Name, the contact person (`z. Hd. …`), street, postal code and city, and the country when
/// it is not Germany.
fn recipient_lines(doc: &QuoteDocument) -> Vec<String> {
    let partner = &doc.partner;
    let city = [partner.postal_code.as_deref(), partner.city.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    let mut lines = vec![partner.name.clone()];
    lines.extend(
        partner
            .contact
            .as_deref()
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(|name| format!("z. Hd. {name}")),
    );
    lines.extend(partner.street.clone());
    lines.push(city);
    lines.extend(partner.country.as_deref().and_then(format::country_line));
    lines.retain(|line| !line.trim().is_empty());
    lines
}

/// The title and the quote's identifiers, top right beside the address field.
fn information_block(page: &mut Page, fonts: &Fonts, doc: &QuoteDocument) {
    let left = mm(125.0);
    let values = left + mm(24.0);
    page.text(
        fonts,
        "Angebot",
        Style::new(Weight::Bold, 18.0, ACCENT),
        left,
        mm(55.0),
        Align::Left,
    );
    let mut rows = vec![("Angebotsnr.", doc.number.clone())];
    if doc.revision > 1 {
        rows.push(("Revision", doc.revision.to_string()));
    }
    rows.push(("Datum", format::date(doc.date)));
    rows.push(("Gültig bis", format::date(doc.valid_until)));
    let mut baseline = mm(64.0);
    for (label, value) in rows {
        page.text(fonts, label, LABEL, left, baseline, Align::Left);
        page.text(fonts, &value, VALUE, values, baseline, Align::Left);
        baseline += 13.0;
    }
}

/// Net amount, one tax row per rate, and the gross total, right-aligned below the table and
/// kept together on one page.
fn totals(flow: &mut Flow<'_>, doc: &QuoteDocument) {
    let leading = 14.0;
    let band = 19.0;
    let label_x = RIGHT - mm(70.0);
    let amount_x = RIGHT - 4.0;
    flow.reserve(6.0 + leading * (doc.taxes.len() as f32 + 1.0) + 4.0 + band);
    flow.y += 6.0;
    let fonts = flow.fonts;
    let mut rows = vec![("Nettobetrag".to_owned(), doc.net_total)];
    rows.extend(
        doc.taxes
            .iter()
            .map(|(rate, amount)| (format!("USt. {}", format::percent(*rate)), *amount)),
    );
    for (label, amount) in rows {
        flow.y += leading;
        let baseline = flow.y - 4.0;
        let page = flow.page();
        page.text(fonts, &label, BODY, label_x, baseline, Align::Left);
        page.text(
            fonts,
            &format::money(amount, &doc.currency),
            BODY,
            amount_x,
            baseline,
            Align::Right,
        );
    }
    flow.y += 4.0;
    let top = flow.y;
    let page = flow.page();
    page.fill(label_x - 4.0, top, RIGHT - label_x + 4.0, band, SHADE);
    page.line((label_x - 4.0, top), (RIGHT, top), 0.8, INK);
    let baseline = top + 13.5;
    page.text(fonts, "Gesamtbetrag", GROSS, label_x, baseline, Align::Left);
    page.text(
        fonts,
        &format::money(doc.gross_total, &doc.currency),
        GROSS,
        amount_x,
        baseline,
        Align::Right,
    );
    flow.y = top + band;
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly on a broken fixture")]
mod tests {
    use super::super::footer::complete_details;
    use super::super::tests::three_line_quote;
    use super::*;
    use crate::domain::quote::QuoteStatus;

    /// A long quote with every footer detail, a long description and a long article number.
    fn long_german_offer() -> QuoteDocument {
        let mut doc = three_line_quote();
        doc.company = complete_details();
        doc.lines = (1..=80)
            .map(|n| {
                let mut line = doc.lines[0].clone();
                line.position = n;
                line.sku = Some("WAGEN-ZUBEHOER-DACHBOX-XL-2026".to_owned());
                line.long_description = Some(format!("Details zu Position {n}: Montage, Zulassung, Einweisung."));
                line
            })
            .collect();
        doc
    }

    #[test]
    fn no_content_reaches_into_the_footer_and_every_text_stays_in_the_text_area() {
        let doc = long_german_offer();
        let fonts = Fonts::shared().unwrap();
        let bottom = Footer::new(fonts, &doc).content_bottom();

        let pages = compose(&doc, fonts);

        assert!(pages.len() >= 3, "{} pages", pages.len());
        for (index, page) in pages.iter().enumerate() {
            let texts = page.texts();
            let footer_top = texts
                .iter()
                .filter(|(_, _, _, text)| text.starts_with("Seite "))
                .map(|(_, y, _, _)| *y)
                .next()
                .unwrap();
            assert!(footer_top > bottom, "page {}", index + 1);
            let content_below = texts
                .iter()
                .filter(|(_, y, _, text)| *y > bottom && *y < footer_top - 0.5 && !text.is_empty());
            assert_eq!(content_below.count(), 0, "page {}", index + 1);
            for (x, _, width, text) in texts {
                assert!(
                    x >= LEFT - 0.01 && x + width <= RIGHT + 0.01,
                    "{text:?} leaves the text area"
                );
            }
            assert!(
                page.texts()
                    .iter()
                    .any(|(_, _, _, text)| text.starts_with("IBAN: DE89"))
            );
        }
    }

    #[test]
    fn a_long_article_number_breaks_after_a_hyphen_inside_its_column() {
        let doc = long_german_offer();

        let pages = compose(&doc, Fonts::shared().unwrap());

        let texts = pages[0].texts();
        let piece = texts.iter().find(|(_, _, _, text)| text.starts_with("WAGEN-")).unwrap();
        assert!(piece.3.ends_with('-') && piece.3.len() < "WAGEN-ZUBEHOER-DACHBOX-XL-2026".len());
        let description = texts
            .iter()
            .find(|(_, _, _, text)| text.starts_with("Elektro-Kombi"))
            .unwrap();
        assert!(
            piece.0 + piece.2 < description.0,
            "the article number runs into the description"
        );
    }

    #[test]
    fn only_drafts_carry_the_draft_mark_beneath_the_content() {
        let mut doc = three_line_quote();
        let fonts = Fonts::shared().unwrap();
        let marked = |doc: &QuoteDocument| {
            compose(doc, fonts)
                .iter()
                .map(|page| page.texts().first().is_some_and(|(_, _, _, text)| *text == "ENTWURF"))
                .collect::<Vec<_>>()
        };
        assert_eq!(marked(&doc), [false]);
        for status in [QuoteStatus::Draft, QuoteStatus::Expired] {
            doc.status = status;
            assert_eq!(marked(&doc), [true], "{status:?}");
        }
    }
}

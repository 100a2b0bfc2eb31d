//! The line table: Pos., Artikel, Beschreibung, Menge, Einheit, Einzelpreis, Rabatt, Gesamt.
//! Columns are as wide as their widest cell, the description takes the rest and wraps. Rows
//! never split across pages unless one is taller than a page; the header repeats on every page.

use super::canvas::{Align, HAIRLINE, INK, MUTED, SHADE, Style, mm};
use super::flow::{Flow, LEFT, RIGHT};
use super::format;
use super::text::{Fonts, Shaped, Weight};
use super::{DocumentLine, QuoteDocument};

const CELL: Style = Style::new(Weight::Regular, 8.5, INK);
/// The long description under a line's description.
const DETAIL: Style = Style::new(Weight::Regular, 8.0, MUTED);
const HEAD: Style = Style::new(Weight::Bold, 8.5, INK);
const LEADING: f32 = 11.0;
/// Space between a cell's text and its neighbours, left/right and top/bottom.
const PAD_X: f32 = 4.0;
const PAD_Y: f32 = 4.0;
const HEADER_HEIGHT: f32 = LEADING + 2.0 * PAD_Y + 2.0;

const TITLES: [&str; 8] = [
    "Pos.",
    "Artikel",
    "Beschreibung",
    "Menge",
    "Einheit",
    "Einzelpreis",
    "Rabatt",
    "Gesamt",
];
const ALIGN: [Align; 8] = [
    Align::Left,
    Align::Left,
    Align::Left,
    Align::Right,
    Align::Left,
    Align::Right,
    Align::Right,
    Align::Right,
];
const SKU: usize = 1;
const DESCRIPTION: usize = 2;
const UNIT: usize = 4;
/// Widest an article number or unit column grows before its texts wrap.
const SKU_MAX: f32 = 30.0 * 72.0 / 25.4;
const UNIT_MAX: f32 = 18.0 * 72.0 / 25.4;
/// The description keeps at least this much; the article column gives way first.
const DESCRIPTION_MIN: f32 = 45.0 * 72.0 / 25.4;

/// A row's cells, each as the lines it occupies.
struct Row {
    cells: [Vec<Shaped>; 8],
    /// The description cell's lines from this one on are the long description.
    details_from: usize,
}

impl Row {
    fn lines(&self) -> usize {
        self.cells.iter().map(Vec::len).max().unwrap_or(0).max(1)
    }
}

/// The left edge and width of every column.
struct Columns {
    x: [f32; 8],
    width: [f32; 8],
}

/// Draws the table at the flow's position, breaking pages between rows.
pub fn draw(flow: &mut Flow<'_>, doc: &QuoteDocument) {
    let fonts = flow.fonts;
    let mut rows: Vec<Row> = doc
        .lines
        .iter()
        .map(|line| single_line_row(fonts, line, &doc.currency))
        .collect();
    let columns = columns(fonts, &rows);
    for (row, line) in rows.iter_mut().zip(&doc.lines) {
        wrap_row(fonts, row, line, &columns);
    }
    // Lines of one row that fit below the header of an otherwise empty page.
    let page_lines = ((flow.continued_room() - HEADER_HEIGHT - 2.0 * PAD_Y) / LEADING)
        .floor()
        .max(1.0) as usize;
    // The header never stands alone at the bottom of a page: the first row (or, if it is
    // taller than a page anyway, its first lines) comes with it.
    let first_lines = rows
        .first()
        .map_or(0, |row| if row.lines() > page_lines { 3 } else { row.lines() });
    flow.reserve(HEADER_HEIGHT + row_height(first_lines));
    header(flow, &columns);
    for row in &rows {
        let lines = row.lines();
        let mut from = 0;
        while from < lines {
            let fitting = ((flow.room() - 2.0 * PAD_Y) / LEADING).floor().max(0.0) as usize;
            let rest = lines - from;
            if fitting >= rest {
                draw_row(flow, &columns, row, from..lines);
                break;
            }
            if rest > page_lines && fitting > 0 {
                // Taller than a whole page: fill this one, the rest continues on the next.
                draw_row(flow, &columns, row, from..from + fitting);
                from += fitting;
            }
            flow.break_page();
            header(flow, &columns);
        }
    }
}

fn row_height(lines: usize) -> f32 {
    lines as f32 * LEADING + 2.0 * PAD_Y
}

/// The cells of one quote line, each shaped on a single line (widths are measured from these).
fn single_line_row(fonts: &Fonts, line: &DocumentLine, currency: &str) -> Row {
    let discount = if line.discount_percent.is_zero() {
        String::new()
    } else {
        format::percent(line.discount_percent)
    };
    let texts = [
        line.position.to_string(),
        line.sku.clone().unwrap_or_default(),
        line.description.clone(),
        format::quantity(line.quantity),
        line.unit.clone(),
        format::money(line.unit_price, currency),
        discount,
        format::money(line.line_total, currency),
    ];
    Row {
        cells: texts.map(|text| vec![fonts.shape(&text, CELL.weight)]),
        details_from: 1,
    }
}

/// Column widths from the widest cell or title; the description gets what is left.
fn columns(fonts: &Fonts, rows: &[Row]) -> Columns {
    let mut width = [0.0_f32; 8];
    for (index, title) in TITLES.iter().enumerate() {
        let widest_cell = rows
            .iter()
            .flat_map(|row| &row.cells[index])
            .map(|cell| cell.width(CELL.size))
            .fold(0.0, f32::max);
        width[index] = fonts.width(title, HEAD.weight, HEAD.size).max(widest_cell) + 2.0 * PAD_X;
    }
    width[SKU] = width[SKU].min(SKU_MAX);
    width[UNIT] = width[UNIT].min(UNIT_MAX);
    let others = |width: &[f32; 8]| {
        width
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != DESCRIPTION)
            .map(|(_, w)| w)
            .sum::<f32>()
    };
    let deficit = DESCRIPTION_MIN - (RIGHT - LEFT - others(&width));
    if deficit > 0.0 {
        let sku_min = fonts.width(TITLES[SKU], HEAD.weight, HEAD.size) + 2.0 * PAD_X;
        width[SKU] = (width[SKU] - deficit).max(sku_min);
    }
    width[DESCRIPTION] = (RIGHT - LEFT - others(&width)).max(mm(20.0));
    let mut x = [LEFT; 8];
    for index in 1..8 {
        x[index] = x[index - 1] + width[index - 1];
    }
    Columns { x, width }
}

/// Wraps the text columns (article, description, unit) to their final widths, and puts the
/// long description under the description.
fn wrap_row(fonts: &Fonts, row: &mut Row, line: &DocumentLine, columns: &Columns) {
    let texts = [
        (SKU, line.sku.as_deref().unwrap_or_default()),
        (DESCRIPTION, &line.description),
        (UNIT, &line.unit),
    ];
    for (index, text) in texts {
        let available = columns.width[index] - 2.0 * PAD_X;
        let fits = row.cells[index].iter().all(|cell| cell.width(CELL.size) <= available) && !text.contains('\n');
        if !fits {
            row.cells[index] = fonts.wrap(text, CELL.weight, CELL.size, available);
        }
    }
    let description = &mut row.cells[DESCRIPTION];
    row.details_from = description.len();
    if let Some(details) = line.long_description.as_deref().filter(|text| !text.trim().is_empty()) {
        let available = columns.width[DESCRIPTION] - 2.0 * PAD_X;
        description.extend(fonts.wrap(details, DETAIL.weight, DETAIL.size, available));
    }
}

/// The shaded title row.
fn header(flow: &mut Flow<'_>, columns: &Columns) {
    let fonts = flow.fonts;
    let top = flow.y;
    let page = flow.page();
    page.fill(LEFT, top, RIGHT - LEFT, HEADER_HEIGHT, SHADE);
    let baseline = top + PAD_Y + 1.0 + LEADING * 0.8;
    for (index, title) in TITLES.iter().enumerate() {
        page.text(fonts, title, HEAD, anchor(columns, index), baseline, ALIGN[index]);
    }
    page.line((LEFT, top + HEADER_HEIGHT), (RIGHT, top + HEADER_HEIGHT), 0.8, INK);
    flow.y = top + HEADER_HEIGHT;
}

/// Draws lines `range` of a row's cells and the hairline below them.
fn draw_row(flow: &mut Flow<'_>, columns: &Columns, row: &Row, range: std::ops::Range<usize>) {
    let top = flow.y;
    let height = row_height(range.len());
    let page = flow.page();
    for (index, cell) in row.cells.iter().enumerate() {
        let lines = cell.iter().skip(range.start).take(range.len());
        for (offset, line) in lines.enumerate() {
            let baseline = top + PAD_Y + LEADING * (offset as f32 + 0.8);
            let detail = index == DESCRIPTION && range.start + offset >= row.details_from;
            let style = if detail { DETAIL } else { CELL };
            page.run(line.clone(), style, anchor(columns, index), baseline, ALIGN[index]);
        }
    }
    page.line((LEFT, top + height), (RIGHT, top + height), 0.4, HAIRLINE);
    flow.y = top + height;
}

/// Where a column's texts start (left-aligned) or end (right-aligned).
fn anchor(columns: &Columns, index: usize) -> f32 {
    match ALIGN[index] {
        Align::Left => columns.x[index] + PAD_X,
        Align::Right => columns.x[index] + columns.width[index] - PAD_X,
    }
}

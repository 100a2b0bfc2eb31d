//! The flow of a quote's pages: the text area of DIN 5008, the current page and how far down it
//! is filled, page breaks with the running head.

use super::canvas::{Align, HAIRLINE, MUTED, PAGE_WIDTH, Page, Style, mm};
use super::text::{Fonts, Weight};

/// Left edge of the text (DIN 5008: 25 mm).
pub const LEFT: f32 = 25.0 * 72.0 / 25.4;
/// Right edge of the text (20 mm from the paper's edge).
pub const RIGHT: f32 = PAGE_WIDTH - 20.0 * 72.0 / 25.4;
/// Where the flow starts on pages after the first, below the running head.
const CONTINUED_TOP: f32 = 70.0;

/// The small print: running heads and page numbers.
pub const SMALL: Style = Style::new(Weight::Regular, 7.5, MUTED);

/// The document being laid out: the finished pages, the current one, and how far down it
/// is filled.
pub struct Flow<'a> {
    pub fonts: &'a Fonts,
    done: Vec<Page>,
    page: Page,
    /// The top of the free space on the current page.
    pub y: f32,
    running_head: String,
    company: String,
    /// Nothing but the page footer goes below this line.
    bottom: f32,
}

impl<'a> Flow<'a> {
    /// A flow whose pages after the first carry `running_head` and `company` at the top, and
    /// whose content ends at `bottom`, above the page footer.
    pub fn new(fonts: &'a Fonts, running_head: String, company: String, bottom: f32) -> Self {
        Self {
            fonts,
            done: Vec::new(),
            page: Page::default(),
            y: 0.0,
            running_head,
            company,
            bottom,
        }
    }

    pub fn page(&mut self) -> &mut Page {
        &mut self.page
    }

    /// The height left on the current page.
    pub fn room(&self) -> f32 {
        self.bottom - self.y
    }

    /// The height a page after the first offers to the flow.
    pub fn continued_room(&self) -> f32 {
        self.bottom - CONTINUED_TOP
    }

    /// Starts a new page unless `height` still fits on this one.
    pub fn reserve(&mut self, height: f32) {
        if height > self.room() {
            self.break_page();
        }
    }

    /// Starts a new page with the running head: which quote, from which company.
    pub fn break_page(&mut self) {
        let finished = std::mem::take(&mut self.page);
        self.done.push(finished);
        let baseline = mm(15.0);
        self.page
            .text(self.fonts, &self.running_head, SMALL, LEFT, baseline, Align::Left);
        self.page
            .text(self.fonts, &self.company, SMALL, RIGHT, baseline, Align::Right);
        self.page
            .line((LEFT, baseline + 5.0), (RIGHT, baseline + 5.0), 0.5, HAIRLINE);
        self.y = CONTINUED_TOP;
    }

    /// Flows a text over the full width, line by line, breaking pages where needed.
    pub fn paragraph(&mut self, text: &str, style: Style, leading: f32) {
        for line in self.fonts.wrap(text, style.weight, style.size, RIGHT - LEFT) {
            self.reserve(leading);
            self.y += leading;
            self.page.run(line, style, LEFT, self.y - leading * 0.3, Align::Left);
        }
    }

    /// All pages, each with its footer (`footer(page, fonts, number, count)`).
    pub fn finish(mut self, footer: impl Fn(&mut Page, &Fonts, usize, usize)) -> Vec<Page> {
        let last = std::mem::take(&mut self.page);
        self.done.push(last);
        let count = self.done.len();
        for (index, page) in self.done.iter_mut().enumerate() {
            footer(page, self.fonts, index + 1, count);
        }
        self.done
    }
}

//! A page as a list of drawing items, and their translation into krilla calls. Layout fills
//! pages first and writes them afterwards, because "Seite 1 von N" needs the page count.
//! Coordinates are points from the top-left corner; a text's `y` is its baseline.

use krilla::color::rgb;
use krilla::configure::{ConfigurationBuilder, PdfVersion};
use krilla::embed::{AssociationKind, EmbeddedFile, MimeType};
use krilla::geom::{PathBuilder, Point, Rect, Transform};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::{Document, SerializeSettings};

use super::PdfError;
use super::text::{Fonts, Shaped, Weight};

/// A4 portrait, in points.
pub const PAGE_WIDTH: f32 = 595.28;
pub const PAGE_HEIGHT: f32 = 841.89;

/// Millimetres to points: DIN 5008 positions are given in millimetres.
pub fn mm(value: f32) -> f32 {
    value * 72.0 / 25.4
}

/// An RGB colour.
#[derive(Debug, Clone, Copy)]
pub struct Color(pub u8, pub u8, pub u8);

/// Body text.
pub const INK: Color = Color(33, 37, 41);
/// Labels, letterhead details, page footer.
pub const MUTED: Color = Color(108, 117, 125);
/// The company's colour: letterhead rule, document title.
pub const ACCENT: Color = Color(22, 72, 120);
/// Table header background.
pub const SHADE: Color = Color(234, 239, 244);
/// Thin separators between table rows.
pub const HAIRLINE: Color = Color(210, 215, 221);
/// The draft mark behind the content: light enough to read the text through it.
pub const WATERMARK: Color = Color(232, 236, 240);

/// How a text looks.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub weight: Weight,
    pub size: f32,
    pub color: Color,
}

impl Style {
    pub const fn new(weight: Weight, size: f32, color: Color) -> Self {
        Self { weight, size, color }
    }
}

/// Where a text sits relative to its `x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// One thing to draw.
#[derive(Debug)]
enum Item {
    Text {
        x: f32,
        y: f32,
        size: f32,
        color: Color,
        run: Shaped,
        /// Degrees clockwise around the start of the baseline; 0 for ordinary text.
        rotation: f32,
    },
    Line {
        from: (f32, f32),
        to: (f32, f32),
        width: f32,
        color: Color,
    },
    Fill {
        rect: (f32, f32, f32, f32),
        color: Color,
    },
}

/// The items of one page, in drawing order.
#[derive(Debug, Default)]
pub struct Page {
    items: Vec<Item>,
}

impl Page {
    /// Draws a shaped run with its left (or right) edge at `x` and its baseline at `y`, in the
    /// size and colour of `style` (the run was shaped in its weight).
    pub fn run(&mut self, run: Shaped, style: Style, x: f32, y: f32, align: Align) {
        let x = match align {
            Align::Left => x,
            Align::Right => x - run.width(style.size),
        };
        self.items.push(Item::Text {
            x,
            y,
            size: style.size,
            color: style.color,
            run,
            rotation: 0.0,
        });
    }

    /// Draws a run beneath everything else on the page, turned by `rotation` degrees (clockwise)
    /// around the start of its baseline at (`x`, `y`).
    pub fn underlay(&mut self, run: Shaped, style: Style, (x, y): (f32, f32), rotation: f32) {
        let item = Item::Text {
            x,
            y,
            size: style.size,
            color: style.color,
            run,
            rotation,
        };
        self.items.insert(0, item);
    }

    /// Shapes and draws one line of text.
    pub fn text(&mut self, fonts: &Fonts, text: &str, style: Style, x: f32, y: f32, align: Align) {
        self.run(fonts.shape(text, style.weight), style, x, y, align);
    }

    /// The texts on the page: left edge, baseline, width and text (for tests of the layout).
    #[cfg(test)]
    pub fn texts(&self) -> Vec<(f32, f32, f32, &str)> {
        self.items
            .iter()
            .filter_map(|item| match item {
                Item::Text { x, y, size, run, .. } => Some((*x, *y, run.width(*size), run.text.as_str())),
                _ => None,
            })
            .collect()
    }

    pub fn line(&mut self, from: (f32, f32), to: (f32, f32), width: f32, color: Color) {
        self.items.push(Item::Line { from, to, width, color });
    }

    pub fn fill(&mut self, x: f32, y: f32, width: f32, height: f32, color: Color) {
        self.items.push(Item::Fill {
            rect: (x, y, width, height),
            color,
        });
    }
}

/// A file carried inside the PDF (a machine-readable copy of what the pages show).
pub struct Attachment {
    /// The file name a viewer shows and saves it under.
    pub name: String,
    pub mime_type: &'static str,
    pub description: String,
    pub data: Vec<u8>,
}

/// Writes the pages as one PDF document with `title` in its metadata and `attachment` embedded.
/// PDF 2.0, so that the catalogue lists the attachment as an associated file (`AF`) with its
/// relationship: the PDF/A-3 way of saying "this file is the data of these pages" (as ZUGFeRD
/// does), without PDF/A's refusal of any text the font lacks a glyph for.
pub fn write(pages: &[Page], fonts: &Fonts, title: &str, attachment: Attachment) -> Result<Vec<u8>, PdfError> {
    let configuration = ConfigurationBuilder::new()
        .with_version(PdfVersion::Pdf20)
        .finish()
        .map_err(|_| PdfError::Layout("PDF 2.0 configuration"))?;
    let mut document = Document::new_with(SerializeSettings {
        configuration,
        ..SerializeSettings::default()
    });
    let mime_type = MimeType::new(attachment.mime_type).ok_or(PdfError::Layout("attachment mime type"))?;
    document
        .embed_file(EmbeddedFile {
            path: attachment.name,
            mime_type: Some(mime_type),
            description: Some(attachment.description),
            association_kind: AssociationKind::Alternative,
            data: attachment.data.into(),
            modification_date: None,
            compress: Some(true),
            location: None,
        })
        .ok_or(PdfError::Layout("attachment embedded twice"))?;
    document.set_metadata(
        Metadata::new()
            .title(title.to_owned())
            .language("de-DE".to_owned())
            .creator("salesfunnel".to_owned()),
    );
    let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT).ok_or(PdfError::Layout("page size"))?;
    for page in pages {
        let mut pdf_page = document.start_page_with(settings.clone());
        let mut surface = pdf_page.surface();
        for item in &page.items {
            draw(&mut surface, item, fonts);
        }
        surface.finish();
        pdf_page.finish();
    }
    document.finish().map_err(|error| PdfError::Write(error.to_string()))
}

fn paint(color: Color) -> krilla::paint::Paint {
    rgb::Color::new(color.0, color.1, color.2).into()
}

fn draw(surface: &mut Surface<'_>, item: &Item, fonts: &Fonts) {
    match item {
        Item::Text {
            x,
            y,
            size,
            color,
            run,
            rotation,
        } => {
            let turned = *rotation != 0.0;
            if turned {
                surface.push_transform(&Transform::from_rotate_at(*rotation, *x, *y));
            }
            surface.set_stroke(None);
            surface.set_fill(Some(Fill {
                paint: paint(*color),
                opacity: NormalizedF32::ONE,
                rule: Default::default(),
            }));
            surface.draw_glyphs(
                Point::from_xy(*x, *y),
                &run.glyphs,
                fonts.font(run.weight),
                &run.text,
                *size,
                false,
            );
            if turned {
                surface.pop();
            }
        }
        Item::Line { from, to, width, color } => {
            let mut builder = PathBuilder::new();
            builder.move_to(from.0, from.1);
            builder.line_to(to.0, to.1);
            if let Some(path) = builder.finish() {
                surface.set_fill(None);
                surface.set_stroke(Some(Stroke {
                    paint: paint(*color),
                    width: *width,
                    ..Default::default()
                }));
                surface.draw_path(&path);
            }
        }
        Item::Fill {
            rect: (x, y, width, height),
            color,
        } => {
            let mut builder = PathBuilder::new();
            if let Some(rect) = Rect::from_xywh(*x, *y, *width, *height) {
                builder.push_rect(rect);
            }
            if let Some(path) = builder.finish() {
                surface.set_stroke(None);
                surface.set_fill(Some(Fill {
                    paint: paint(*color),
                    opacity: NormalizedF32::ONE,
                    rule: Default::default(),
                }));
                surface.draw_path(&path);
            }
        }
    }
}

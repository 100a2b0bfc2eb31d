//! Fonts, shaping and line breaking. Text is shaped here (with kerning) rather than by krilla,
//! so a text's width is known before it is placed: right-aligned amounts and wrapped
//! descriptions need it, and the glyphs measured are exactly the glyphs drawn.

use std::sync::LazyLock;

use krilla::text::{Font, GlyphId, KrillaGlyph};
use rustybuzz::{Direction, Face, ShapePlan, UnicodeBuffer, script};

use super::PdfError;

/// The two cuts of DejaVu Sans Condensed the document uses: narrow enough for an
/// eight-column table on A4, and covering ä ö ü ß € and every other Latin letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    Regular,
    Bold,
}

/// A run of text on one line, shaped with one font: what the canvas draws.
#[derive(Debug, Clone)]
pub struct Shaped {
    pub text: String,
    pub weight: Weight,
    pub glyphs: Vec<KrillaGlyph>,
    /// The advance of the whole run, in ems.
    advance: f32,
}

impl Shaped {
    /// The width of the run at `size` points.
    pub fn width(&self, size: f32) -> f32 {
        self.advance * size
    }
}

/// One font for shaping (rustybuzz) and the same bytes for embedding (krilla).
struct Cut {
    face: Face<'static>,
    /// Built once: making a plan costs more than shaping a short text with it.
    plan: ShapePlan,
    font: Font,
}

impl Cut {
    fn load(data: &'static [u8]) -> Result<Self, PdfError> {
        let face = Face::from_slice(data, 0).ok_or(PdfError::Font)?;
        let plan = ShapePlan::new(&face, Direction::LeftToRight, Some(script::LATIN), None, &[]);
        let font = Font::new(data.into(), 0).ok_or(PdfError::Font)?;
        Ok(Self { face, plan, font })
    }
}

/// The document's fonts, loaded from the `dejavu` crate (compiled into the binary).
pub struct Fonts {
    regular: Cut,
    bold: Cut,
}

/// Loaded on first use and shared: reading the fonts, hashing their bytes (krilla identifies
/// fonts by content) and planning the shaping cost about as much as a short quote's layout.
static FONTS: LazyLock<Option<Fonts>> = LazyLock::new(|| Fonts::load().ok());

impl Fonts {
    /// The process-wide fonts.
    pub fn shared() -> Result<&'static Self, PdfError> {
        FONTS.as_ref().ok_or(PdfError::Font)
    }

    fn load() -> Result<Self, PdfError> {
        Ok(Self {
            regular: Cut::load(dejavu::sans_condensed::regular())?,
            bold: Cut::load(dejavu::sans_condensed::bold())?,
        })
    }

    fn cut(&self, weight: Weight) -> &Cut {
        match weight {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }

    /// The krilla font to embed for `weight`.
    pub fn font(&self, weight: Weight) -> Font {
        self.cut(weight).font.clone()
    }

    /// Shapes `text` as one line. Each glyph keeps the byte range of the characters it stands
    /// for, from which krilla writes the ToUnicode map that makes the text extractable.
    pub fn shape(&self, text: &str, weight: Weight) -> Shaped {
        let cut = self.cut(weight);
        let units = cut.face.units_per_em() as f32;
        let mut buffer = UnicodeBuffer::new();
        buffer.push_str(text);
        // Every text is set as left-to-right Latin, the plan's script: German documents,
        // where names in other scripts of the font (Greek, Cyrillic) shape the same way.
        buffer.set_direction(Direction::LeftToRight);
        buffer.set_script(script::LATIN);
        let output = rustybuzz::shape_with_plan(&cut.face, &cut.plan, buffer);
        let infos = output.glyph_infos();
        let positions = output.glyph_positions();
        let mut glyphs = Vec::with_capacity(infos.len());
        let mut advance = 0.0;
        for (index, (info, position)) in infos.iter().zip(positions).enumerate() {
            // Left-to-right only: a cluster ends where the next one starts.
            let start = info.cluster as usize;
            let end = infos[index + 1..]
                .iter()
                .map(|next| next.cluster as usize)
                .find(|&next| next != start)
                .unwrap_or(text.len());
            let x_advance = position.x_advance as f32 / units;
            advance += x_advance;
            glyphs.push(KrillaGlyph::new(
                GlyphId::new(info.glyph_id),
                x_advance,
                position.x_offset as f32 / units,
                position.y_offset as f32 / units,
                position.y_advance as f32 / units,
                start..end,
                None,
            ));
        }
        Shaped {
            text: text.to_owned(),
            weight,
            glyphs,
            advance,
        }
    }

    /// The width of `text` on one line at `size` points.
    pub fn width(&self, text: &str, weight: Weight, size: f32) -> f32 {
        self.shape(text, weight).width(size)
    }

    /// Breaks `text` into lines no wider than `max_width` at `size` points: at the newlines it
    /// contains, then between words, and inside a word only when the word alone is too wide.
    /// An empty paragraph stays an empty line, so blank lines in the texts keep their meaning.
    pub fn wrap(&self, text: &str, weight: Weight, size: f32, max_width: f32) -> Vec<Shaped> {
        let space = self.width(" ", weight, size);
        let mut lines = Vec::new();
        for paragraph in text.trim_end().lines() {
            let mut line = String::new();
            let mut line_width = 0.0;
            for word in paragraph.split_whitespace() {
                let word_width = self.width(word, weight, size);
                if !line.is_empty() && line_width + space + word_width <= max_width {
                    line.push(' ');
                    line.push_str(word);
                    line_width += space + word_width;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(self.shape(&line, weight));
                }
                if word_width <= max_width {
                    line = word.to_owned();
                    line_width = word_width;
                } else {
                    let mut pieces = self.split_word(word, weight, size, max_width);
                    let last = pieces.pop().unwrap_or_default();
                    lines.extend(pieces.iter().map(|piece| self.shape(piece, weight)));
                    line_width = self.width(&last, weight, size);
                    line = last;
                }
            }
            lines.push(self.shape(&line, weight));
        }
        lines
    }

    /// Cuts a word wider than `max_width` into pieces that fit: after the last `-`, `/` or `_`
    /// that fits (article numbers such as `WAGEN-ZUBEHOER-DACHBOX-XL`, paths), else after the
    /// last character that fits; at least one character each, and never between a letter and
    /// the accent combined with it.
    fn split_word(&self, word: &str, weight: Weight, size: f32, max_width: f32) -> Vec<String> {
        let mut pieces = Vec::new();
        let mut rest = word;
        while self.width(rest, weight, size) > max_width {
            let cuts: Vec<usize> = rest
                .char_indices()
                .skip(1)
                .filter(|(_, c)| !is_combining(*c))
                .map(|(at, _)| at)
                .collect();
            let Some(&first) = cuts.first() else { break };
            let fitting = cuts
                .iter()
                .copied()
                .take_while(|&at| self.width(&rest[..at], weight, size) <= max_width)
                .last()
                .unwrap_or(first);
            let cut = rest[..fitting]
                .rfind(['-', '/', '_'])
                .map(|at| at + 1)
                .unwrap_or(fitting);
            pieces.push(rest[..cut].to_owned());
            rest = &rest[cut..];
        }
        pieces.push(rest.to_owned());
        pieces
    }
}

/// Combining diacritical marks (U+0300–U+036F), drawn on the character before them.
fn is_combining(c: char) -> bool {
    ('\u{300}'..='\u{36f}').contains(&c)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly on a broken fixture")]
mod tests {
    use super::*;

    #[test]
    fn shaped_glyphs_cover_every_byte_of_the_text() {
        let fonts = Fonts::load().unwrap();
        let shaped = fonts.shape("Größe 5 €", Weight::Regular);
        assert_eq!(shaped.glyphs.first().unwrap().text_range.start, 0);
        assert_eq!(shaped.glyphs.last().unwrap().text_range.end, "Größe 5 €".len());
        assert!(shaped.width(10.0) > 20.0);
    }

    #[test]
    fn wrapping_keeps_lines_within_the_width_and_all_words() {
        let fonts = Fonts::load().unwrap();
        let text = "Fußmatten aus Velours, passgenau für alle Sitzreihen\n\nÜberführung inklusive";
        let lines = fonts.wrap(text, Weight::Regular, 9.0, 80.0);
        assert!(lines.iter().all(|line| line.width(9.0) <= 80.0));
        let joined: Vec<&str> = lines.iter().map(|line| line.text.as_str()).collect();
        assert_eq!(
            joined.join(" ").split_whitespace().collect::<Vec<_>>().join(" "),
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        );
        assert!(joined.contains(&""), "the blank line stays: {joined:?}");
    }

    #[test]
    fn an_article_number_breaks_after_its_hyphens() {
        let fonts = Fonts::load().unwrap();
        let sku = "WAGEN-ZUBEHOER-DACHBOX-XL-2026";
        let width = fonts.width("WAGEN-ZUBEHOER-DA", Weight::Regular, 8.5);

        let lines = fonts.wrap(sku, Weight::Regular, 8.5, width);

        let texts: Vec<&str> = lines.iter().map(|line| line.text.as_str()).collect();
        assert_eq!(texts, ["WAGEN-ZUBEHOER-", "DACHBOX-XL-2026"]);
        assert!(lines.iter().all(|line| line.width(8.5) <= width));
    }

    #[test]
    fn a_word_without_break_points_is_cut_by_characters_keeping_accents() {
        let fonts = Fonts::load().unwrap();
        let word = "Zubehoe\u{308}rpaketDachboxKomfortXL";
        let width = fonts.width("Zubehoe\u{308}rpa", Weight::Regular, 8.5);

        let lines = fonts.wrap(word, Weight::Regular, 8.5, width);

        assert!(lines.len() >= 2);
        assert!(lines.iter().all(|line| line.width(8.5) <= width));
        assert!(lines.iter().all(|line| !line.text.starts_with('\u{308}')));
        assert_eq!(lines.iter().map(|line| line.text.as_str()).collect::<String>(), word);
    }

    #[test]
    fn a_word_wider_than_the_column_is_cut() {
        let fonts = Fonts::load().unwrap();
        let lines = fonts.wrap("Donaudampfschifffahrtsgesellschaftskapitän", Weight::Bold, 9.0, 40.0);
        assert!(lines.len() > 2);
        assert!(lines.iter().all(|line| line.width(9.0) <= 40.0));
    }
}

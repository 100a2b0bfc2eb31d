//! The e-mail itself: a text and an HTML part of the same words, and the PDF attached.

use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use minijinja::{AutoEscape, Environment, context};
use serde::Serialize;

/// An e-mail ready to build.
pub struct Letter {
    pub from: Mailbox,
    pub reply_to: Option<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub subject: String,
    pub text: String,
    pub message_id: String,
    /// File name and bytes of the PDF to attach.
    pub pdf: Option<(String, Vec<u8>)>,
}

/// The HTML part: the text's paragraphs, escaped, with lines that are links made clickable.
const HTML: &str = r#"<!DOCTYPE html>
<html lang="de"><head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="font-family: Helvetica, Arial, sans-serif; font-size: 15px; line-height: 1.45; color: #1f2933;">
{% for paragraph in paragraphs %}<p>{% for line in paragraph %}{% if line.link %}<a href="{{ line.text }}">{{ line.text }}</a>{% else %}{{ line.text }}{% endif %}{% if not loop.last %}<br>
{% endif %}{% endfor %}</p>
{% endfor %}</body></html>
"#;

#[derive(Serialize)]
struct Line<'a> {
    text: &'a str,
    link: bool,
}

fn html(subject: &str, text: &str) -> Result<String, String> {
    let paragraphs: Vec<Vec<Line>> = text
        .split("\n\n")
        .map(|paragraph| {
            paragraph
                .lines()
                .map(|line| Line {
                    text: line,
                    link: (line.starts_with("https://") || line.starts_with("http://"))
                        && !line.contains(char::is_whitespace),
                })
                .collect::<Vec<_>>()
        })
        .filter(|lines| !lines.is_empty())
        .collect();
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.render_str(
        HTML,
        context! { subject, paragraphs => minijinja::Value::from(minijinja::value::Serde(&paragraphs)) },
    )
    .map_err(|e| format!("the HTML part: {e}"))
}

/// The MIME message: `multipart/mixed` of `multipart/alternative` (text, HTML) and the PDF.
pub fn message(letter: Letter) -> Result<Message, String> {
    let mut builder = Message::builder()
        .from(letter.from)
        .subject(letter.subject.clone())
        .message_id(Some(letter.message_id));
    if let Some(reply_to) = letter.reply_to {
        builder = builder.reply_to(reply_to);
    }
    for to in letter.to {
        builder = builder.to(to);
    }
    for cc in letter.cc {
        builder = builder.cc(cc);
    }
    let body = MultiPart::alternative_plain_html(letter.text.clone(), html(&letter.subject, &letter.text)?);
    let parts = match letter.pdf {
        Some((filename, bytes)) => MultiPart::mixed().multipart(body).singlepart(
            Attachment::new(filename).body(bytes, ContentType::parse("application/pdf").map_err(|e| e.to_string())?),
        ),
        None => body,
    };
    builder
        .multipart(parts)
        .map_err(|e| format!("the e-mail cannot be built: {e}"))
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly on a broken fixture")]
mod tests {
    use super::*;

    fn letter(pdf: bool) -> Letter {
        Letter {
            from: "Autohaus <angebote@autohaus.example>".parse().unwrap(),
            reply_to: Some("Max Verkauf <max@autohaus.example>".parse().unwrap()),
            to: vec!["anna@muster.example".parse().unwrap()],
            cc: vec![],
            subject: "Ihr Angebot QT-000001".to_owned(),
            text: "Sehr geehrte Frau Schmidt,\n\n<b>fett</b> & mehr\nhttps://crm.example/public/quotes/abc\n\nGruß"
                .to_owned(),
            message_id: "<1@autohaus.example>".to_owned(),
            pdf: pdf.then(|| ("Angebot-QT-000001.pdf".to_owned(), b"%PDF-1.7 test".to_vec())),
        }
    }

    #[test]
    fn the_html_part_escapes_the_text_and_links_the_links() {
        let html = html("S", &letter(false).text).unwrap();
        assert!(html.contains("&lt;b&gt;fett&lt;&#x2f;b&gt; &amp; mehr"), "{html}");
        assert!(
            html.contains(r#"<a href="https:&#x2f;&#x2f;crm.example&#x2f;public&#x2f;quotes&#x2f;abc">"#),
            "{html}"
        );
        assert_eq!(html.matches("<p>").count(), 3);
    }

    #[test]
    fn the_message_has_both_parts_and_the_pdf() {
        let raw = String::from_utf8(message(letter(true)).unwrap().formatted()).unwrap();
        assert!(raw.contains("Content-Type: multipart/mixed"));
        assert!(raw.contains("Content-Type: multipart/alternative"));
        assert!(raw.contains("Content-Type: text/html"));
        assert!(raw.contains("Content-Disposition: attachment; filename=\"Angebot-QT-000001.pdf\""));
        assert!(
            raw.contains("Reply-To: \"Max Verkauf\" <max@autohaus.example>")
                || raw.contains("Reply-To: Max Verkauf <max@autohaus.example>"),
            "{raw}"
        );
        let without = String::from_utf8(message(letter(false)).unwrap().formatted()).unwrap();
        assert!(!without.contains("multipart/mixed") && without.contains("multipart/alternative"));
    }
}

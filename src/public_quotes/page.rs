//! The HTML of the public quote page: German, responsive, no external assets (styles inline),
//! every value HTML-escaped by minijinja.

use minijinja::{AutoEscape, Environment, context};
use serde::Serialize;

use crate::quotes::pdf::{QuoteDocument, format};

const PAGE: &str = r#"<!DOCTYPE html>
<html lang="de">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{% if offer %}Angebot {{ offer.number }} – {% endif %}{{ company }}</title>
<style>
  body { margin: 0; background: #f4f5f7; color: #1f2933; font: 16px/1.5 Helvetica, Arial, sans-serif; }
  main { max-width: 52rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
  .card { background: #fff; border-radius: 8px; padding: 1.25rem 1.5rem; box-shadow: 0 1px 3px rgba(0,0,0,.08); margin-bottom: 1rem; }
  .company { color: #52606d; margin: 0 0 .25rem; }
  h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
  dt { color: #52606d; }
  dd { margin: 0; }
  table { width: 100%; border-collapse: collapse; }
  th, td { padding: .5rem .4rem; border-bottom: 1px solid #e4e7eb; vertical-align: top; }
  th { text-align: left; color: #52606d; font-weight: normal; font-size: .9rem; }
  .num { text-align: right; white-space: nowrap; }
  .totals td { border: 0; padding: .2rem .4rem; }
  .totals .gross td { font-weight: bold; font-size: 1.1rem; border-top: 2px solid #1f2933; }
  .sku { color: #52606d; font-size: .85rem; }
  .notice { padding: 1rem 1.25rem; border-radius: 8px; margin-bottom: 1rem; }
  .ok { background: #e3f9e5; color: #05400a; }
  .info { background: #fff3c4; color: #513c06; }
  .error { background: #ffe3e3; color: #610404; }
  label { display: block; margin-bottom: .75rem; }
  input[type=text] { display: block; width: 100%; box-sizing: border-box; margin-top: .25rem; padding: .6rem; font-size: 1rem; border: 1px solid #9aa5b1; border-radius: 6px; }
  .buttons { display: flex; flex-wrap: wrap; gap: .75rem; }
  button { font-size: 1rem; padding: .7rem 1.4rem; border-radius: 6px; border: 1px solid #0b6e4f; cursor: pointer; }
  .accept { background: #0b6e4f; color: #fff; }
  .decline { background: #fff; color: #610404; border-color: #9aa5b1; }
  a { color: #0b5cad; }
  @media (max-width: 40rem) { .hide-narrow { display: none; } }
</style>
</head>
<body>
<main>
{% if notice %}<p class="notice {{ notice_kind }}" role="status">{{ notice }}</p>{% endif %}
{% if offer %}
<section class="card">
  <p class="company">{{ company }}</p>
  <h1>Angebot {{ offer.number }}</h1>
  <p>{{ offer.subject }}</p>
  <dl>
    <dt>Für</dt><dd>{{ offer.partner }}{% if offer.contact %}, z. Hd. {{ offer.contact }}{% endif %}</dd>
    <dt>Datum</dt><dd>{{ offer.date }}</dd>
    <dt>Gültig bis</dt><dd>{{ offer.valid_until }}</dd>
  </dl>
</section>
<section class="card">
  {% if offer.header_text %}<p>{{ offer.header_text }}</p>{% endif %}
  {% if offer.customer_text %}<p>{{ offer.customer_text }}</p>{% endif %}
  <table>
    <thead><tr><th>Pos.</th><th>Beschreibung</th><th class="num">Menge</th><th class="num hide-narrow">Einzelpreis</th><th class="num">Gesamt</th></tr></thead>
    <tbody>
    {% for line in offer.lines %}
      <tr><td>{{ line.position }}</td><td>{{ line.description }}{% if line.sku %}<br><span class="sku">{{ line.sku }}</span>{% endif %}</td>
        <td class="num">{{ line.quantity }} {{ line.unit }}</td><td class="num hide-narrow">{{ line.unit_price }}{% if line.discount %}<br><span class="sku">− {{ line.discount }}</span>{% endif %}</td><td class="num">{{ line.total }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  <table class="totals">
    <tr><td>Nettobetrag</td><td class="num">{{ offer.net_total }}</td></tr>
    {% for tax in offer.taxes %}<tr><td>zzgl. {{ tax.rate }} USt.</td><td class="num">{{ tax.amount }}</td></tr>{% endfor %}
    <tr class="gross"><td>Gesamtbetrag</td><td class="num">{{ offer.gross_total }}</td></tr>
  </table>
  {% if offer.footer_text %}<p>{{ offer.footer_text }}</p>{% endif %}
  <p><a href="{{ base }}/public/quotes/{{ token }}/pdf" download>Angebot als PDF herunterladen</a></p>
</section>
{% if open %}
<section class="card">
  <h2>Ihre Entscheidung</h2>
  {% if error %}<p class="notice error" role="alert">{{ error }}</p>{% endif %}
  <form method="post" action="{{ base }}/public/quotes/{{ token }}/accept">
    <label>Ihr Name
      <input type="text" name="name" required maxlength="200" autocomplete="name" value="{{ name }}">
    </label>
    <div class="buttons">
      <button type="submit" class="accept">Angebot annehmen</button>
      <button type="submit" class="decline" formaction="{{ base }}/public/quotes/{{ token }}/decline">Ablehnen</button>
    </div>
  </form>
</section>
{% endif %}
{% endif %}
</main>
</body>
</html>
"#;

#[derive(Serialize)]
struct Line {
    position: i32,
    sku: Option<String>,
    description: String,
    quantity: String,
    unit: String,
    unit_price: String,
    discount: Option<String>,
    total: String,
}

#[derive(Serialize)]
struct Tax {
    rate: String,
    amount: String,
}

#[derive(Serialize)]
struct Offer {
    number: String,
    subject: String,
    partner: String,
    contact: Option<String>,
    date: String,
    valid_until: String,
    header_text: String,
    customer_text: Option<String>,
    footer_text: String,
    lines: Vec<Line>,
    net_total: String,
    taxes: Vec<Tax>,
    gross_total: String,
}

impl From<&QuoteDocument> for Offer {
    fn from(d: &QuoteDocument) -> Self {
        let money = |amount| format::money(amount, &d.currency);
        Self {
            number: d.number.clone(),
            subject: d.subject.clone(),
            partner: d.partner.name.clone(),
            contact: d.partner.contact.clone(),
            date: format::date(d.date),
            valid_until: format::date(d.valid_until),
            header_text: d.header_text.clone(),
            customer_text: d.customer_text.clone(),
            footer_text: d.footer_text.clone(),
            lines: d
                .lines
                .iter()
                .map(|l| Line {
                    position: l.position,
                    sku: l.sku.clone(),
                    description: l.description.clone(),
                    quantity: format::quantity(l.quantity),
                    unit: l.unit.clone(),
                    unit_price: money(l.unit_price),
                    discount: (!l.discount_percent.is_zero()).then(|| format::percent(l.discount_percent)),
                    total: money(l.line_total),
                })
                .collect(),
            net_total: money(d.net_total),
            taxes: d
                .taxes
                .iter()
                .map(|(rate, amount)| Tax {
                    rate: format::percent(*rate),
                    amount: money(*amount),
                })
                .collect(),
            gross_total: money(d.gross_total),
        }
    }
}

/// How the page greets the visitor.
#[derive(Clone)]
pub enum Notice {
    None,
    /// Green: a decision was recorded.
    Ok(String),
    /// Yellow: the offer can no longer be decided on.
    Info(String),
    /// Red: the link leads nowhere.
    Error(String),
}

/// What one page shows.
pub struct Page<'a> {
    pub company: &'a str,
    /// `PUBLIC_BASE_URL`, the start of the page's own links.
    pub base: &'a str,
    pub token: &'a str,
    pub offer: Option<&'a QuoteDocument>,
    /// Accept / Decline are offered.
    pub open: bool,
    pub notice: Notice,
    /// A problem with what was typed, shown above the form.
    pub error: Option<&'a str>,
    pub name: &'a str,
}

/// The page as HTML.
pub fn render(page: &Page) -> Result<String, String> {
    let (notice, notice_kind) = match &page.notice {
        Notice::None => (None, ""),
        Notice::Ok(text) => (Some(text.as_str()), "ok"),
        Notice::Info(text) => (Some(text.as_str()), "info"),
        Notice::Error(text) => (Some(text.as_str()), "error"),
    };
    let offer = page.offer.map(Offer::from);
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.render_str(
        PAGE,
        context! {
            company => page.company,
            base => page.base,
            token => page.token,
            offer => minijinja::Value::from(minijinja::value::Serde(&offer)),
            open => page.open,
            notice,
            notice_kind,
            error => page.error,
            name => page.name,
        },
    )
    .map_err(|e| format!("the public quote page: {e}"))
}

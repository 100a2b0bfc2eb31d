//! Settings as the API shows it (answers and event payloads).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::store::SettingsRow;
use crate::http::Resource;

/// Company-wide settings: the quote letterhead and defaults.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "company_name": "Autohaus Beispiel GmbH", "company_address": "Hauptstraße 1, 80331 München, Deutschland",
    "default_currency": "EUR", "quote_header_text": "Vielen Dank für Ihre Anfrage.",
    "quote_footer_text": "Es gelten unsere AGB.", "quote_valid_days": 30, "win_on_quote_accept": false,
    "quote_email_subject": "Ihr Angebot {{ quote.number }}: {{ opportunity.subject }}",
    "quote_email_text": "{{ greeting }}\n\nanbei unser Angebot {{ quote.number }}.\n\nMit freundlichen Grüßen\n{{ sender.name }}",
    "register_court": "Amtsgericht München", "register_number": "HRB 123456",
    "managing_directors": "Maria Beispiel, Thomas Muster", "vat_id": "DE123456789",
    "tax_number": "143/123/45678", "iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX",
    "bank_name": "Commerzbank München", "phone": "+49 89 1234560", "email": "info@autohaus-beispiel.de",
    "website": "https://www.autohaus-beispiel.de",
    "updated_at": "2026-11-02T09:15:00Z", "version": 3
}))]
pub struct Settings {
    pub company_name: String,
    /// Printed under the company name on quotes; lines separated by commas or newlines.
    pub company_address: String,
    /// ISO 4217 currency of new articles and opportunities that name none.
    pub default_currency: String,
    /// Default text above a quote's lines.
    pub quote_header_text: String,
    /// Default text below a quote's totals.
    pub quote_footer_text: String,
    /// Default validity of a new quote, in days.
    pub quote_valid_days: i32,
    /// Accepting a quote also wins its opportunity (moves it to the funnel's won stage).
    pub win_on_quote_accept: bool,
    /// Subject of quote e-mails: a template with placeholders such as `{{ quote.number }}`
    /// (see `quote_email_text`).
    pub quote_email_subject: String,
    /// Text of quote e-mails: a template. Placeholders: `quote.number`, `quote.revision`,
    /// `quote.valid_until`, `quote.net_total`, `quote.gross_total`, `opportunity.subject`,
    /// `partner.name`, `partner.email`, `contact.salutation`, `contact.title`,
    /// `contact.first_name`, `contact.last_name`, `contact.name`, `sender.name`, `sender.email`,
    /// `company.name`, `greeting` (`Sehr geehrte Frau Dr. Schmidt,`) and `acceptance_link` (empty
    /// without one); `{% if acceptance_link %}…{% endif %}` shows a part only with a link.
    pub quote_email_text: String,
    /// Registergericht of the Handelsregister entry, e.g. "Amtsgericht München"; printed in the quote footer like every field below.
    pub register_court: Option<String>,
    /// Handelsregister number, e.g. "HRB 123456".
    pub register_number: Option<String>,
    /// Geschäftsführer (or Vorstand), as printed: "Maria Beispiel, Thomas Muster".
    pub managing_directors: Option<String>,
    /// The company's VAT identification number (USt-IdNr.), e.g. DE123456789.
    pub vat_id: Option<String>,
    /// Steuernummer of the tax office.
    pub tax_number: Option<String>,
    /// IBAN of the account customers pay to; its checksum is checked.
    pub iban: Option<String>,
    /// BIC of that account.
    pub bic: Option<String>,
    /// Name of the bank.
    pub bank_name: Option<String>,
    /// Phone number for customers.
    pub phone: Option<String>,
    /// E-mail address for customers.
    pub email: Option<String>,
    /// The company's web site, an http(s) URL.
    pub website: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<SettingsRow> for Settings {
    fn from(row: SettingsRow) -> Self {
        Self {
            company_name: row.company_name,
            company_address: row.company_address,
            default_currency: row.default_currency,
            quote_header_text: row.quote_header_text,
            quote_footer_text: row.quote_footer_text,
            quote_valid_days: row.quote_valid_days,
            win_on_quote_accept: row.win_on_quote_accept,
            quote_email_subject: row.quote_email_subject,
            quote_email_text: row.quote_email_text,
            register_court: row.register_court,
            register_number: row.register_number,
            managing_directors: row.managing_directors,
            vat_id: row.vat_id,
            tax_number: row.tax_number,
            iban: row.iban,
            bic: row.bic,
            bank_name: row.bank_name,
            phone: row.phone,
            email: row.email,
            website: row.website,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

impl Resource for Settings {
    fn version(&self) -> i32 {
        self.version
    }
    fn location(&self) -> String {
        "/api/v1/settings".to_owned()
    }
}

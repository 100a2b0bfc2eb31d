//! The machine-readable offer: the quote as JSON, embedded in its PDF as `angebot.json`, so that
//! a buyer's procurement system imports lines, taxes and totals instead of retyping them. One
//! type serves the file and its schema in the API document (`MachineReadableOffer`); amounts,
//! quantities and rates are written as `GET /quotes/{id}` writes them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{PdfError, QuoteDocument, format};
use crate::domain::money::{self, Money, Percent, Quantity};
use crate::domain::quote::QuoteStatus;

/// The name of the embedded file.
pub const FILE_NAME: &str = "angebot.json";

/// What this file format is; changes that break readers get a new version.
const FORMAT: &str = "salesfunnel.offer/1";

/// A quote as its PDF carries it (the embedded file `angebot.json`, associated with the
/// document as its `Alternative` representation). Money is a decimal string with two
/// decimals, quantities a decimal string, percentages numbers: as in the `Quote` resource.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "format": "salesfunnel.offer/1", "number": "QT-000007", "revision": 1, "status": "sent",
    "quote_date": "2026-11-22", "valid_until": "2026-12-22", "currency": "EUR",
    "subject": "Flottenerneuerung 2027",
    "seller": {"name": "Autohaus Beispiel GmbH", "address_lines": ["Leopoldstraße 200", "80804 München", "Deutschland"],
        "vat_id": "DE811234567", "tax_number": "143/234/56789", "register_court": "Amtsgericht München",
        "register_number": "HRB 234567", "managing_directors": "Maria Beispiel, Thomas Muster",
        "iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX", "bank_name": "Commerzbank München",
        "phone": "+49 89 3090 4000", "email": "angebote@autohaus-beispiel.de", "website": "https://www.autohaus-beispiel.de"},
    "buyer": {"name": "Autohaus Müller GmbH", "contact": "Frau Anna Schmidt", "street": "Königsallee 5",
        "postal_code": "40212", "city": "Düsseldorf", "country": "DE", "vat_id": "DE123456789"},
    "lines": [{"position": 1, "sku": "VW-ID4-PRO", "description": "VW ID.4 Pro, 77 kWh",
        "long_description": "Wärmepumpe, Assistenzpaket Plus", "quantity": "2", "unit": "Stk",
        "unit_price": "47990.00", "discount_percent": 0.0, "tax_rate": 19.0, "line_total": "95980.00"}],
    "taxes": [{"tax_rate": 19.0, "amount": "18236.20"}],
    "net_total": "95980.00", "tax_total": "18236.20", "gross_total": "114216.20"
}))]
pub struct MachineReadableOffer {
    /// `salesfunnel.offer/1`: the format and its version.
    pub format: String,
    /// The quote number, `QT-000001`.
    pub number: String,
    pub revision: i32,
    /// The quote's status when the PDF was made (a `draft` is not binding yet).
    pub status: QuoteStatus,
    pub quote_date: NaiveDate,
    /// The last day the offer is binding.
    pub valid_until: NaiveDate,
    /// ISO 4217 currency of every amount.
    #[schema(value_type = money::Currency)]
    pub currency: String,
    pub subject: String,
    pub seller: OfferSeller,
    pub buyer: OfferBuyer,
    /// By position.
    pub lines: Vec<OfferLine>,
    /// Tax per rate, ascending by rate.
    pub taxes: Vec<OfferTax>,
    pub net_total: Money,
    pub tax_total: Money,
    pub gross_total: Money,
}

/// The selling company, from the settings.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"name": "Autohaus Beispiel GmbH", "address_lines": ["Leopoldstraße 200", "80804 München"],
    "vat_id": "DE811234567", "tax_number": "143/234/56789", "register_court": "Amtsgericht München",
    "register_number": "HRB 234567", "managing_directors": "Maria Beispiel", "iban": "DE89 3704 0044 0532 0130 00",
    "bic": "COBADEFFXXX", "bank_name": "Commerzbank München", "phone": "+49 89 3090 4000",
    "email": "angebote@autohaus-beispiel.de", "website": "https://www.autohaus-beispiel.de"}))]
pub struct OfferSeller {
    pub name: String,
    /// The postal address, one part per line.
    pub address_lines: Vec<String>,
    /// USt-IdNr.
    pub vat_id: Option<String>,
    /// Steuernummer.
    pub tax_number: Option<String>,
    pub register_court: Option<String>,
    pub register_number: Option<String>,
    pub managing_directors: Option<String>,
    pub iban: Option<String>,
    pub bic: Option<String>,
    pub bank_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
}

/// The business partner the offer is addressed to.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"name": "Autohaus Müller GmbH", "contact": "Frau Anna Schmidt", "street": "Königsallee 5",
    "postal_code": "40212", "city": "Düsseldorf", "country": "DE", "vat_id": "DE123456789"}))]
pub struct OfferBuyer {
    pub name: String,
    /// The contact person, as the address prints it.
    pub contact: Option<String>,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    pub vat_id: Option<String>,
}

/// One line of the offer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"position": 1, "sku": "VW-ID4-PRO", "description": "VW ID.4 Pro, 77 kWh",
    "long_description": "Wärmepumpe, Assistenzpaket Plus", "quantity": "2", "unit": "Stk",
    "unit_price": "47990.00", "discount_percent": 0.0, "tax_rate": 19.0, "line_total": "95980.00"}))]
pub struct OfferLine {
    pub position: i32,
    pub sku: Option<String>,
    pub description: String,
    pub long_description: Option<String>,
    pub quantity: Quantity,
    pub unit: String,
    /// Net, before the discount.
    pub unit_price: Money,
    pub discount_percent: Percent,
    pub tax_rate: Percent,
    /// quantity × unit_price × (1 − discount_percent / 100), rounded.
    pub line_total: Money,
}

/// The tax of one rate.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"tax_rate": 19.0, "amount": "18236.20"}))]
pub struct OfferTax {
    pub tax_rate: Percent,
    pub amount: Money,
}

/// A stored rate or quantity outside its range: the database holds none.
const OUT_OF_RANGE: PdfError = PdfError::Layout("a stored rate or quantity is out of range");

fn percent(value: rust_decimal::Decimal) -> Result<Percent, PdfError> {
    Percent::new(value).ok_or(OUT_OF_RANGE)
}

impl MachineReadableOffer {
    /// The offer the document shows.
    pub fn of(doc: &QuoteDocument) -> Result<Self, PdfError> {
        let company = &doc.company;
        let partner = &doc.partner;
        let lines = doc
            .lines
            .iter()
            .map(|line| {
                Ok(OfferLine {
                    position: line.position,
                    sku: line.sku.clone(),
                    description: line.description.clone(),
                    long_description: line.long_description.clone(),
                    quantity: Quantity::new(line.quantity).ok_or(OUT_OF_RANGE)?,
                    unit: line.unit.clone(),
                    unit_price: Money::rounded(line.unit_price),
                    discount_percent: percent(line.discount_percent)?,
                    tax_rate: percent(line.tax_rate)?,
                    line_total: Money::rounded(line.line_total),
                })
            })
            .collect::<Result<_, PdfError>>()?;
        let taxes = doc
            .taxes
            .iter()
            .map(|(rate, amount)| {
                Ok(OfferTax {
                    tax_rate: percent(*rate)?,
                    amount: Money::rounded(*amount),
                })
            })
            .collect::<Result<_, PdfError>>()?;
        Ok(Self {
            format: FORMAT.to_owned(),
            number: doc.number.clone(),
            revision: doc.revision,
            status: doc.status,
            quote_date: doc.date,
            valid_until: doc.valid_until,
            currency: doc.currency.clone(),
            subject: doc.subject.clone(),
            seller: OfferSeller {
                name: doc.company_name.trim().to_owned(),
                address_lines: format::address_parts(&doc.company_address)
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                vat_id: company.vat_id.clone(),
                tax_number: company.tax_number.clone(),
                register_court: company.register_court.clone(),
                register_number: company.register_number.clone(),
                managing_directors: company.managing_directors.clone(),
                iban: company.iban.clone(),
                bic: company.bic.clone(),
                bank_name: company.bank_name.clone(),
                phone: company.phone.clone(),
                email: company.email.clone(),
                website: company.website.clone(),
            },
            buyer: OfferBuyer {
                name: partner.name.clone(),
                contact: partner.contact.clone(),
                street: partner.street.clone(),
                postal_code: partner.postal_code.clone(),
                city: partner.city.clone(),
                country: partner.country.clone(),
                vat_id: partner.vat_id.clone(),
            },
            lines,
            taxes,
            net_total: Money::rounded(doc.net_total),
            tax_total: Money::rounded(doc.tax_total),
            gross_total: Money::rounded(doc.gross_total),
        })
    }
}

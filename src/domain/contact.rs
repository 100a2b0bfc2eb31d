//! Checks for contact data of business partners (and later the company address).

use validator::ValidationError;

fn error(code: &'static str, message: &'static str) -> ValidationError {
    ValidationError::new(code).with_message(message.into())
}

/// ISO 3166-1 alpha-2, upper case (`DE`, `AT`, `CH`).
pub fn country(code: &str) -> Result<(), ValidationError> {
    let upper = code.len() == 2 && code.chars().all(|c| c.is_ascii_uppercase());
    if upper && celes::Country::from_alpha2(code).is_ok() {
        Ok(())
    } else {
        Err(error(
            "country",
            "must be an ISO 3166-1 alpha-2 country code such as DE",
        ))
    }
}

/// An ISO 3166-1 alpha-2 country code in the spec: the `Country` schema, an enum of the codes
/// [`country`] accepts. `String` fields name it with `#[schema(value_type = Country)]`, or
/// `Option<Country>` where `null` is allowed.
pub struct Country;

impl utoipa::PartialSchema for Country {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let codes: Vec<&str> = celes::Country::get_countries().iter().map(|c| c.alpha2).collect();
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("ISO 3166-1 alpha-2 country code, upper case"))
            .enum_values(Some(codes))
            .examples(["DE"])
            .into()
    }
}

impl utoipa::ToSchema for Country {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("Country")
    }
}

/// A VAT identification number: two-letter country prefix and 2 to 13 letters or digits.
pub fn vat_id(id: &str) -> Result<(), ValidationError> {
    let (prefix, rest) = id.split_at_checked(2).unwrap_or((id, ""));
    let valid = prefix.chars().all(|c| c.is_ascii_uppercase())
        && prefix.len() == 2
        && (2..=13).contains(&rest.len())
        && rest.chars().all(|c| c.is_ascii_alphanumeric());
    if valid {
        Ok(())
    } else {
        Err(error(
            "vat_id",
            "must look like DE123456789 (country prefix, then 2 to 13 letters or digits)",
        ))
    }
}

/// A phone number as people write it (the schema pattern of `phone` says the same): 3 to 20 digits with `+`, spaces, `-`, `/`, `(`, `)`,
/// `.`; at most 40 characters.
pub fn phone(number: &str) -> Result<(), ValidationError> {
    let digits = number.chars().filter(char::is_ascii_digit).count();
    let allowed = number.chars().all(|c| c.is_ascii_digit() || " +-/().".contains(c));
    if allowed && (3..=20).contains(&digits) && number.len() <= 40 {
        Ok(())
    } else {
        Err(error("phone", "must be a phone number such as +49 30 1234567"))
    }
}

/// A web address people can open: an absolute `http` or `https` URL with a host.
pub fn web_address(text: &str) -> Result<(), ValidationError> {
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(()),
        _ => Err(error(
            "url",
            "must be an http or https address such as https://www.example.de",
        )),
    }
}

crate::domain::text_enum! {
    /// The part a contact person plays in an opportunity's purchase (the buying centre).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum ContactRole {
        /// Signs the order (Entscheider).
        DecisionMaker = "decision_maker",
        /// Negotiates the terms (Einkäufer).
        Buyer = "buyer",
        /// Judges the technical fit (Fachabteilung, IT).
        Technical = "technical",
        /// Will work with what is bought (Anwender).
        User = "user",
        /// Sways the decision without making it (Beeinflusser).
        Influencer = "influencer",
        /// Any other part.
        Other = "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries() {
        assert!(country("DE").is_ok() && country("AT").is_ok());
        assert!(country("de").is_err() && country("XX").is_err() && country("DEU").is_err());
    }

    #[test]
    fn vat_ids() {
        assert!(vat_id("DE123456789").is_ok() && vat_id("ATU12345678").is_ok());
        assert!(vat_id("123").is_err() && vat_id("DE").is_err() && vat_id("DE12 345").is_err());
    }

    #[test]
    fn web_addresses() {
        assert!(web_address("https://www.autohaus-beispiel.de").is_ok() && web_address("http://x.example/a?b").is_ok());
        assert!(web_address("www.example.de").is_err() && web_address("mailto:a@b.de").is_err());
        assert!(web_address("ftp://example.de").is_err() && web_address("https://").is_err());
    }

    #[test]
    fn phones() {
        assert!(phone("+49 (30) 123-4567").is_ok() && phone("030/1234567").is_ok());
        assert!(phone("call me").is_err() && phone("12").is_err());
    }
}

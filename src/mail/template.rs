//! E-mail texts are minijinja templates over a fixed set of values: `quote.number`,
//! `quote.revision`, `quote.valid_until`, `quote.net_total`, `quote.gross_total`,
//! `opportunity.subject`, `partner.name`, `contact.salutation`, `contact.title`,
//! `contact.first_name`, `contact.last_name`, `contact.name`, `sender.name`, `sender.email`,
//! `company.name`, `greeting` (the German letter salutation) and `acceptance_link` (empty
//! without one). A name outside the set is an error, found when a template is saved (settings)
//! or sent (a message), and a template's work is bounded, so that no text can loop for long.

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// The most work one template may do (minijinja's fuel: roughly one unit per instruction).
const FUEL: u64 = 100_000;

/// The quote as e-mail texts show it; money and dates already formatted (German).
#[derive(Debug, Clone, Serialize)]
pub struct QuoteValues {
    pub number: String,
    pub revision: i32,
    pub valid_until: String,
    pub net_total: String,
    pub gross_total: String,
}

/// The person the e-mail is addressed to; empty strings when the quote names no contact.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ContactValues {
    pub salutation: String,
    pub title: String,
    pub first_name: String,
    pub last_name: String,
    /// Salutation, title, first and last name as an address prints them.
    pub name: String,
}

/// A name and an address.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Named {
    pub name: String,
    pub email: String,
}

/// A subject line.
#[derive(Debug, Clone, Serialize)]
pub struct Subject {
    pub subject: String,
}

/// Everything a quote e-mail's subject and text may name.
#[derive(Debug, Clone, Serialize)]
pub struct Values {
    pub quote: QuoteValues,
    pub opportunity: Subject,
    pub partner: Named,
    pub contact: ContactValues,
    pub sender: Named,
    pub company: Named,
    pub greeting: String,
    pub acceptance_link: String,
}

impl Values {
    /// Values of the right shape, for checking a template when it is saved.
    pub fn sample() -> Self {
        let contact = ContactValues {
            salutation: "Frau".to_owned(),
            title: "Dr.".to_owned(),
            first_name: "Anna".to_owned(),
            last_name: "Schmidt".to_owned(),
            name: "Frau Dr. Anna Schmidt".to_owned(),
        };
        Self {
            quote: QuoteValues {
                number: "QT-000001".to_owned(),
                revision: 1,
                valid_until: "31.12.2026".to_owned(),
                net_total: "1.000,00 €".to_owned(),
                gross_total: "1.190,00 €".to_owned(),
            },
            opportunity: Subject {
                subject: "Neuwagen".to_owned(),
            },
            partner: Named {
                name: "Muster GmbH".to_owned(),
                email: "info@muster.example".to_owned(),
            },
            greeting: greeting(&contact),
            contact,
            sender: Named {
                name: "Max Verkauf".to_owned(),
                email: "max@autohaus.example".to_owned(),
            },
            company: Named {
                name: "Autohaus Beispiel GmbH".to_owned(),
                email: String::new(),
            },
            acceptance_link: "https://crm.example/public/quotes/abc".to_owned(),
        }
    }
}

/// The German letter salutation for `contact`: `Sehr geehrte Frau Dr. Schmidt,`,
/// `Sehr geehrter Herr Müller,`, `Guten Tag Kim Meier,` for another salutation, and
/// `Sehr geehrte Damen und Herren,` without a contact.
pub fn greeting(contact: &ContactValues) -> String {
    let formal = |opening: &str| {
        let name = [
            contact.salutation.as_str(),
            contact.title.as_str(),
            contact.last_name.as_str(),
        ]
        .iter()
        .filter(|part| !part.trim().is_empty())
        .map(|part| part.trim())
        .collect::<Vec<_>>()
        .join(" ");
        format!("{opening} {name},")
    };
    match contact.salutation.trim() {
        _ if contact.last_name.trim().is_empty() => "Sehr geehrte Damen und Herren,".to_owned(),
        "Frau" => formal("Sehr geehrte"),
        "Herr" => formal("Sehr geehrter"),
        _ => format!("Guten Tag {},", contact.name.trim()),
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    // Texts are plain text; the HTML part escapes what it takes from them.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env
}

/// `template` with `values` filled in; the error says what is wrong and where.
pub fn render(template: &str, values: &Values) -> Result<String, String> {
    environment()
        .render_str(template, minijinja::Value::from(minijinja::value::Serde(values)))
        .map_err(|e| {
            match e.line() {
                Some(line) => format!("{} (line {line})", e.kind()),
                None => e.kind().to_string(),
            }
            .replace("undefined value", "unknown placeholder")
        })
        .and_then(|text| match text.len() {
            0..=100_000 => Ok(text),
            _ => Err("the text is longer than 100000 characters".to_owned()),
        })
}

/// Whether `template` renders (known names only, valid syntax), for a 422 when it is saved.
pub fn check(template: &str) -> Result<(), String> {
    render(template, &Values::sample()).map(drop)
}

/// [`check`] as a `validator` rule (code `template`).
pub fn valid(template: &str) -> Result<(), validator::ValidationError> {
    check(template).map_err(|e| validator::ValidationError::new("template").with_message(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_in() {
        let text = render(
            "{{ greeting }} {{ quote.number }} {{ quote.gross_total }}",
            &Values::sample(),
        );
        assert_eq!(
            text.as_deref(),
            Ok("Sehr geehrte Frau Dr. Schmidt, QT-000001 1.190,00 €")
        );
        let link = "{% if acceptance_link %}Link: {{ acceptance_link }}{% endif %}";
        let mut values = Values::sample();
        values.acceptance_link = String::new();
        assert_eq!(render(link, &values).as_deref(), Ok(""));
    }

    #[test]
    fn unknown_names_bad_syntax_and_endless_loops_are_errors() {
        assert!(check("{{ quote.nummer }}").is_err_and(|e| e.contains("unknown placeholder")));
        assert!(check("{{ price }}").is_err());
        assert!(check("{% if %}").is_err());
        assert!(check("{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}").is_err());
        assert!(check("plain text with {{ contact.last_name }}").is_ok());
    }

    #[test]
    fn greetings_follow_german_letter_style() {
        let contact = |salutation: &str, title: &str, last: &str| ContactValues {
            salutation: salutation.to_owned(),
            title: title.to_owned(),
            first_name: "Kim".to_owned(),
            last_name: last.to_owned(),
            name: format!("{salutation} {title} Kim {last}")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        };
        assert_eq!(greeting(&contact("Herr", "", "Müller")), "Sehr geehrter Herr Müller,");
        assert_eq!(
            greeting(&contact("Frau", "Prof.", "Berg")),
            "Sehr geehrte Frau Prof. Berg,"
        );
        assert_eq!(greeting(&contact("", "", "Meier")), "Guten Tag Kim Meier,");
        assert_eq!(greeting(&ContactValues::default()), "Sehr geehrte Damen und Herren,");
    }
}

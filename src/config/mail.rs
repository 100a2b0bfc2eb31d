//! The e-mail variables: `SMTP_URL`, `SMTP_FROM` and `PUBLIC_BASE_URL`.

use lettre::message::Mailbox;

use super::{ConfigError, config_error};

/// How quote e-mails leave and where their links point.
#[derive(Clone, Default)]
pub struct MailSettings {
    /// `SMTP_URL`: the SMTP server (see [`crate::mail::smtp_transport`]); unset: the embedded
    /// default writes `.eml` files, a server with `DATABASE_URL` sends none (503).
    pub smtp_url: Option<String>,
    /// `SMTP_FROM`: the sender of quote e-mails; required with `SMTP_URL`.
    pub from: Option<Mailbox>,
    /// `PUBLIC_BASE_URL`: how customers reach this service (the links in e-mails); unset: the
    /// address it listens on.
    pub public_base_url: Option<String>,
}

// SMTP_URL may hold a password: never printed.
impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| ".."))
            .field("from", &self.from)
            .field("public_base_url", &self.public_base_url)
            .finish()
    }
}

/// The sender of the embedded default's e-mails, which only land in files.
pub const DEFAULT_FROM: &str = "Angebote <angebote@localhost>";

pub(super) fn mail_settings(lookup: &impl Fn(&str) -> Option<String>) -> Result<MailSettings, ConfigError> {
    let smtp_url = lookup("SMTP_URL");
    if let Some(url) = &smtp_url {
        crate::mail::smtp_transport(url).map_err(|e| config_error("SMTP_URL", e))?;
    }
    let from = match lookup("SMTP_FROM") {
        Some(v) => Some(v.parse::<Mailbox>().map_err(|e| {
            config_error(
                "SMTP_FROM",
                format!("'{v}' is not an address such as Autohaus <angebote@example.com>: {e}"),
            )
        })?),
        None if smtp_url.is_some() => {
            return Err(config_error(
                "SMTP_FROM",
                "with SMTP_URL set, the sender address is required",
            ));
        }
        None => None,
    };
    let public_base_url = match lookup("PUBLIC_BASE_URL") {
        Some(v) => {
            let url = url::Url::parse(&v)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some() && u.query().is_none())
                .ok_or_else(|| {
                    config_error(
                        "PUBLIC_BASE_URL",
                        format!("'{v}' is not an http(s) URL such as https://crm.example.com"),
                    )
                })?;
            Some(url.as_str().trim_end_matches('/').to_owned())
        }
        None => None,
    };
    Ok(MailSettings {
        smtp_url,
        from,
        public_base_url,
    })
}

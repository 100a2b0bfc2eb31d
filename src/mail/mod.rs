//! Outgoing e-mail: the transport the configuration names (an SMTP server, or the `.eml` files
//! of the embedded default) and the texts, templates with placeholders such as
//! `{{ quote.number }}` (see [`template`]).

pub mod template;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How long one SMTP conversation may take, connecting included.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Where e-mails go.
#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// The embedded default without `SMTP_URL`: each e-mail as an `.eml` file in a folder.
    Files(AsyncFileTransport<Tokio1Executor>, PathBuf),
    /// `DATABASE_URL` without `SMTP_URL`: sending is refused, naming the variable.
    Off,
}

/// The service's e-mail: where it goes, who sends it, and the address customers reach the
/// service's public pages at (links in e-mails).
#[derive(Clone)]
pub struct Mailer {
    transport: Arc<Transport>,
    /// The `From` of every e-mail (`SMTP_FROM`).
    pub from: Mailbox,
    /// The base of links in e-mails (`PUBLIC_BASE_URL`), without a trailing slash.
    pub public_base_url: String,
}

/// Why an e-mail did not leave.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// No transport is configured (`SMTP_URL` unset with `DATABASE_URL` set).
    #[error("e-mail is not configured: set SMTP_URL (e.g. smtp://user:password@mail.example.com:587)")]
    NotConfigured,
    /// The SMTP server refused the e-mail or could not be reached; the text says which.
    #[error("{0}")]
    Failed(String),
}

impl Mailer {
    /// E-mail through the SMTP server of `url` (see [`smtp_transport`]).
    pub fn smtp(url: &str, from: Mailbox, public_base_url: &str) -> Result<Self, String> {
        Ok(Self::new(Transport::Smtp(smtp_transport(url)?), from, public_base_url))
    }

    /// E-mail written as `.eml` files into `folder` (created when missing).
    pub fn files(folder: PathBuf, from: Mailbox, public_base_url: &str) -> Result<Self, String> {
        std::fs::create_dir_all(&folder)
            .map_err(|e| format!("cannot create the e-mail folder {}: {e}", folder.display()))?;
        let transport = AsyncFileTransport::<Tokio1Executor>::new(&folder);
        Ok(Self::new(Transport::Files(transport, folder), from, public_base_url))
    }

    /// No e-mail: sending answers 503 naming `SMTP_URL`.
    pub fn off(from: Mailbox, public_base_url: &str) -> Self {
        Self::new(Transport::Off, from, public_base_url)
    }

    fn new(transport: Transport, from: Mailbox, public_base_url: &str) -> Self {
        Self {
            transport: Arc::new(transport),
            from,
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
        }
    }

    /// Where the e-mails go, for the start-up log: `None` when sending is off.
    pub fn describe(&self) -> Option<String> {
        match &*self.transport {
            Transport::Smtp(_) => Some("an SMTP server (SMTP_URL)".to_owned()),
            Transport::Files(_, folder) => Some(format!(".eml files in {}", folder.display())),
            Transport::Off => None,
        }
    }

    /// Whether e-mails can be sent at all (a transport is configured).
    pub fn is_on(&self) -> bool {
        !matches!(*self.transport, Transport::Off)
    }

    /// Sends `message`; `Ok` once the SMTP server accepted it (or the file is written).
    pub async fn send(&self, message: Message) -> Result<(), MailError> {
        match &*self.transport {
            Transport::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(drop)
                .map_err(|e| MailError::Failed(e.to_string())),
            Transport::Files(files, _) => files
                .send(message)
                .await
                .map(drop)
                .map_err(|e| MailError::Failed(format!("cannot write the e-mail file: {e}"))),
            Transport::Off => Err(MailError::NotConfigured),
        }
    }
}

/// The SMTP transport of `SMTP_URL`: `smtp://user:password@host:587` talks STARTTLS and refuses
/// to go on without it (lettre's plain `smtp://` would send the password in clear text),
/// `smtps://…:465` TLS from the start, `smtp://host:25?tls=none` a plain relay (a local one),
/// `?tls=opportunistic` STARTTLS when offered.
pub fn smtp_transport(url: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    Ok(AsyncSmtpTransport::<Tokio1Executor>::from_url(&lettre_url(url)?)
        .map_err(|e| e.to_string())?
        .timeout(Some(SMTP_TIMEOUT))
        .build())
}

/// `SMTP_URL` as lettre reads it: `tls=required` unless the URL says otherwise, no `tls=none`.
fn lettre_url(url: &str) -> Result<String, String> {
    let mut parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    match parsed.scheme() {
        "smtps" => return Ok(parsed.into()),
        "smtp" => {}
        other => return Err(format!("the scheme must be smtp or smtps, not {other}")),
    }
    let mut tls = Some("required");
    let mut others = Vec::new();
    for (key, value) in parsed.query_pairs() {
        match (key.as_ref(), value.as_ref()) {
            ("tls", "required") => tls = Some("required"),
            ("tls", "opportunistic") => tls = Some("opportunistic"),
            ("tls", "none") => tls = None,
            ("tls", other) => return Err(format!("tls={other} is not required, opportunistic or none")),
            _ => others.push((key.into_owned(), value.into_owned())),
        }
    }
    parsed.set_query(None);
    if tls.is_some() || !others.is_empty() {
        let mut query = parsed.query_pairs_mut();
        query.extend_pairs(others);
        if let Some(tls) = tls {
            query.append_pair("tls", tls);
        }
    }
    Ok(parsed.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_talk_starttls_unless_told_otherwise() {
        let read = |url: &str| lettre_url(url);
        assert_eq!(
            read("smtp://u:p@mail.example.com:587").as_deref(),
            Ok("smtp://u:p@mail.example.com:587?tls=required")
        );
        assert_eq!(
            read("smtps://u:p@mail.example.com").as_deref(),
            Ok("smtps://u:p@mail.example.com")
        );
        assert_eq!(
            read("smtp://127.0.0.1:2525?tls=none").as_deref(),
            Ok("smtp://127.0.0.1:2525")
        );
        assert_eq!(
            read("smtp://m.example.com?tls=opportunistic").as_deref(),
            Ok("smtp://m.example.com?tls=opportunistic")
        );
        for bad in [
            "http://mail.example.com",
            "smtp://mail.example.com?tls=maybe",
            "not a url",
        ] {
            assert!(smtp_transport(bad).is_err(), "{bad}");
        }
        assert!(smtp_transport("smtp://u:p@mail.example.com:587").is_ok());
    }
}

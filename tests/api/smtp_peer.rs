//! A real SMTP server on loopback for the e-mail tests: mailin's SMTP state machine on a
//! thread per connection, keeping every message it accepts. Recipients whose address starts
//! with `refuse` are refused (550), as a mail server refuses an unknown mailbox; with
//! credentials set, it requires AUTH PLAIN with them.

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin::{Action, Handler, Response, SessionBuilder, response};

/// One message as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The raw message (headers and MIME body), as sent after DATA.
    pub data: Vec<u8>,
}

pub struct SmtpPeer {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

#[derive(Clone)]
struct Session {
    credentials: Option<(String, String)>,
    authenticated: bool,
    current: Option<Received>,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Handler for Session {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, _from: &str) -> Response {
        if self.credentials.is_some() && !self.authenticated {
            return response::AUTHENTICATION_REQUIRED;
        }
        response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        if to.trim_start_matches('<').starts_with("refuse") {
            response::NO_MAILBOX
        } else {
            response::OK
        }
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Some(Received {
            from: from.to_owned(),
            to: to.to_vec(),
            data: Vec::new(),
        });
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(current) = self.current.as_mut() {
            current.data.extend_from_slice(buf);
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Some(done) = self.current.take() {
            self.received.lock().unwrap().push(done);
        }
        response::OK
    }

    fn auth_plain(&mut self, _authorization_id: &str, user: &str, password: &str) -> Response {
        match &self.credentials {
            Some((u, p)) if u == user && p == password => {
                self.authenticated = true;
                response::AUTH_OK
            }
            _ => response::INVALID_CREDENTIALS,
        }
    }
}

impl SmtpPeer {
    /// Starts the server; with `credentials`, it asks for AUTH PLAIN (offered without TLS, as a
    /// local relay does).
    pub fn start(credentials: Option<(&str, &str)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let session = Session {
            credentials: credentials.map(|(u, p)| (u.to_owned(), p.to_owned())),
            authenticated: false,
            current: None,
            received: Arc::clone(&received),
        };
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let session = session.clone();
                std::thread::spawn(move || serve(stream, session));
            }
        });
        Self { port, received }
    }

    /// `smtp://` URL of this server, plain (no TLS).
    pub fn url(&self, userinfo: &str) -> String {
        format!("smtp://{userinfo}127.0.0.1:{}?tls=none", self.port)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, session: Session) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let auth = session.credentials.is_some();
    let mut builder = SessionBuilder::new("smtp-peer.test");
    if auth {
        builder
            .enable_auth(mailin::AuthMechanism::Plain)
            .insecure_enable_plaintext_auth();
    }
    let ip = stream
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let mut smtp = builder.build(ip, session);
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    if smtp.greeting().write_to(&mut writer).is_err() {
        return;
    }
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let answer = smtp.process(&line);
        match answer.action {
            Action::Reply => {
                if answer.write_to(&mut writer).is_err() {
                    return;
                }
            }
            Action::Close => {
                let _ = answer.write_to(&mut writer);
                let _ = writer.flush();
                return;
            }
            Action::NoReply | Action::UpgradeTls => {}
        }
    }
}

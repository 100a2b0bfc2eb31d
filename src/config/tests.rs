use super::*;

fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    Settings::from_lookup(move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
}

#[test]
fn database_url_without_a_key_is_refused_naming_jwt_secret() {
    let error = settings(&[("DATABASE_URL", "postgres://x")]).err().map(|e| e.variable);
    assert_eq!(error, Some("JWT_SECRET"));
}

#[test]
fn short_secret_is_refused() {
    let error = settings(&[("JWT_SECRET", "short")]).err().map(|e| e.variable);
    assert_eq!(error, Some("JWT_SECRET"));
}

#[test]
fn bad_bind_and_pool_size_name_their_variables() {
    assert_eq!(settings(&[("BIND", "nope")]).err().map(|e| e.variable), Some("BIND"));
    assert_eq!(
        settings(&[("DATABASE_POOL_SIZE", "0")]).err().map(|e| e.variable),
        Some("DATABASE_POOL_SIZE")
    );
}

#[test]
fn defaults_apply_without_variables() {
    let s = settings(&[]).ok();
    assert_eq!(
        s.as_ref().map(|s| s.bind.to_string()),
        Some("127.0.0.1:8080".to_owned())
    );
    assert_eq!(s.as_ref().map(|s| s.jwt.issuer.as_str()), Some("salesfunnel"));
    assert!(s.is_some_and(|s| s.database_url.is_none() && s.jwt.key.is_none()));
}

#[test]
fn jwt_max_ttl_defaults_to_a_day_and_names_itself() {
    assert_eq!(settings(&[]).ok().map(|s| s.jwt.max_ttl), Some(86_400));
    assert_eq!(
        settings(&[("JWT_MAX_TTL", "600")]).ok().map(|s| s.jwt.max_ttl),
        Some(600)
    );
    for bad in ["0", "-1", "1h", "99999999999"] {
        let error = settings(&[("JWT_MAX_TTL", bad)]).err().map(|e| e.variable);
        assert_eq!(error, Some("JWT_MAX_TTL"), "{bad}");
    }
}

#[test]
fn algorithm_without_key_file_is_refused() {
    let error = settings(&[("JWT_ALGORITHM", "RS256")]).err().map(|e| e.variable);
    assert_eq!(error, Some("JWT_PUBLIC_KEY_FILE"));
}

#[test]
fn webhook_settings_default_and_name_their_variables() {
    assert_eq!(settings(&[]).ok().map(|s| s.webhooks), Some(WebhookSettings::default()));
    let s = settings(&[("WEBHOOK_POLL_INTERVAL_MS", "50"), ("WEBHOOK_RETRY_BASE_MS", "20")]).ok();
    assert_eq!(
        s.map(|s| (s.webhooks.poll_interval, s.webhooks.retry_base)),
        Some((Duration::from_millis(50), Duration::from_millis(20)))
    );
    for variable in [
        "WEBHOOK_POLL_INTERVAL_MS",
        "WEBHOOK_RETRY_BASE_MS",
        "WEBHOOK_TIMEOUT_MS",
        "WEBHOOK_MAX_ATTEMPTS",
    ] {
        assert_eq!(settings(&[(variable, "0")]).err().map(|e| e.variable), Some(variable));
    }
}

#[test]
fn retry_delays_double_up_to_an_hour() {
    let w = WebhookSettings::default();
    let delays: Vec<u64> = [1, 2, 3, 9, 10, 40]
        .iter()
        .map(|n| w.retry_delay(*n).as_secs())
        .collect();
    assert_eq!(delays, vec![10, 20, 40, 2560, 3600, 3600]);
}

#[test]
fn every_variable_read_is_listed_for_help() {
    let read = std::sync::Mutex::new(Vec::new());
    let _ = Settings::from_lookup(|name| {
        if let Ok(mut read) = read.lock() {
            read.push(name.to_owned());
        }
        // Values that make every branch read its variables: a secret and a URL.
        match name {
            "JWT_SECRET" => Some("x".repeat(MIN_SECRET_LEN)),
            "DATABASE_URL" => Some("postgres://localhost/x".to_owned()),
            _ => None,
        }
    });
    let read = read.into_inner().unwrap_or_default();
    let missing: Vec<&String> = read
        .iter()
        .filter(|name| !VARIABLES.iter().any(|v| v.name == name.as_str()))
        .collect();
    assert!(!read.is_empty() && missing.is_empty(), "not in VARIABLES: {missing:?}");
}

#[test]
fn a_public_key_with_a_database_needs_a_cursor_secret() {
    let pem = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/es256-public.pem");
    let vars = [
        ("DATABASE_URL", "postgres://x"),
        ("JWT_PUBLIC_KEY_FILE", pem),
        ("JWT_ALGORITHM", "ES256"),
    ];
    assert_eq!(settings(&vars).err().map(|e| e.variable), Some("CURSOR_SECRET"));
    let secret = "c".repeat(MIN_SECRET_LEN);
    let with_secret = [&vars[..], &[("CURSOR_SECRET", secret.as_str())]].concat();
    assert!(settings(&with_secret).is_ok_and(|s| s.cursor_key.is_some()));
    assert_eq!(
        settings(&[("CURSOR_SECRET", "short")]).err().map(|e| e.variable),
        Some("CURSOR_SECRET")
    );
}

#[test]
fn cors_origins_must_be_origins() {
    for bad in [
        "*",
        "crm.example.com",
        "https://crm.example.com/app",
        "ftp://x.example",
        "https://a b",
    ] {
        assert_eq!(
            settings(&[("CORS_ALLOWED_ORIGINS", bad)]).err().map(|e| e.variable),
            Some("CORS_ALLOWED_ORIGINS"),
            "{bad}"
        );
    }
    let s = settings(&[(
        "CORS_ALLOWED_ORIGINS",
        "https://crm.example.com/, http://localhost:3000",
    )])
    .ok();
    assert_eq!(
        s.map(|s| s.cors_allowed_origins),
        Some(vec![
            "https://crm.example.com".to_owned(),
            "http://localhost:3000".to_owned()
        ])
    );
}

#[test]
fn cors_origins_are_split_on_commas() {
    let s = settings(&[("CORS_ALLOWED_ORIGINS", "https://a.example, https://b.example")]).ok();
    assert_eq!(s.map(|s| s.cors_allowed_origins.len()), Some(2));
}

#[test]
fn mail_variables_are_checked_and_name_themselves() {
    let variable = |vars: &[(&str, &str)]| settings(vars).err().map(|e| e.variable);
    assert_eq!(
        variable(&[("SMTP_URL", "smtp://mail.example.com:587")]),
        Some("SMTP_FROM")
    );
    assert_eq!(variable(&[("SMTP_URL", "http://mail.example.com")]), Some("SMTP_URL"));
    assert_eq!(variable(&[("SMTP_FROM", "kein Absender")]), Some("SMTP_FROM"));
    assert_eq!(
        variable(&[("PUBLIC_BASE_URL", "crm.example.com")]),
        Some("PUBLIC_BASE_URL")
    );
    let ok = settings(&[
        ("SMTP_URL", "smtp://u:p@mail.example.com:587"),
        ("SMTP_FROM", "Autohaus <angebote@autohaus.example>"),
        ("PUBLIC_BASE_URL", "https://crm.example.com/"),
    ]);
    let mail = ok.map(|s| s.mail).ok();
    assert_eq!(
        mail.as_ref().and_then(|m| m.public_base_url.as_deref()),
        Some("https://crm.example.com")
    );
    assert!(!format!("{mail:?}").contains("u:p"), "the password stays out of Debug");
}

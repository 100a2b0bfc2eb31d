//! Every configuration variable with its `--help` text.

/// One configuration variable and what `salesfunnel --help` says about it.
#[derive(Debug, Clone, Copy)]
pub struct Variable {
    pub name: &'static str,
    pub help: &'static str,
}

/// Every variable [`super::Settings::from_lookup`] reads (a unit test keeps the list complete), in the
/// order `--help` shows them. The README's configuration table explains them at length.
pub const VARIABLES: &[Variable] = &[
    Variable {
        name: "DATABASE_URL",
        help: "PostgreSQL URL; unset: the embedded PostgreSQL in SALESFUNNEL_DATA_DIR",
    },
    Variable {
        name: "BIND",
        help: "address and port to listen on [default: 127.0.0.1:8080]",
    },
    Variable {
        name: "DATABASE_POOL_SIZE",
        help: "connections in the pool, 1-1000; replicas x pool + reserve <= max_connections [default: 20]",
    },
    Variable {
        name: "RATE_LIMIT_PER_MINUTE",
        help: "requests per minute and caller (token sub, else address) on each replica; 0 turns it off \
               [default: 1200]",
    },
    Variable {
        name: "BODY_TIMEOUT_MS",
        help: "how long a request body may take to arrive before it is a 408 [default: 10000]",
    },
    Variable {
        name: "FEED_STALL_WARN_S",
        help: "seconds the event feed may be held by a running transaction before a WARN names it \
               [default: 10]",
    },
    Variable {
        name: "DATABASE_TIMEOUT_MS",
        help: "longest a request waits on the database before it is a 503 [default: 4000]",
    },
    Variable {
        name: "DATABASE_STATEMENT_TIMEOUT_MS",
        help: "PostgreSQL's statement_timeout on pooled connections [default: 10000]",
    },
    Variable {
        name: "DATABASE_TCP_KEEPALIVE_S",
        help: "idle seconds before TCP keepalive probes on pooled connections [default: 30]",
    },
    Variable {
        name: "DATABASE_TCP_USER_TIMEOUT_MS",
        help: "tcp_user_timeout of pooled connections [default: 10000]",
    },
    Variable {
        name: "DATABASE_POOL_IDLE_S",
        help: "idle pooled connections are closed after this many seconds [default: 60]",
    },
    Variable {
        name: "JWT_SECRET",
        help: "HS256 secret, at least 32 bytes (embedded default: generated and kept in the data folder)",
    },
    Variable {
        name: "JWT_PUBLIC_KEY_FILE",
        help: "PEM public key of the identity provider, instead of JWT_SECRET",
    },
    Variable {
        name: "JWT_ALGORITHM",
        help: "RS256 or ES256 with JWT_PUBLIC_KEY_FILE, HS256 with JWT_SECRET",
    },
    Variable {
        name: "JWT_ISSUER",
        help: "required iss claim [default: salesfunnel]",
    },
    Variable {
        name: "JWT_AUDIENCE",
        help: "required aud claim [default: salesfunnel]",
    },
    Variable {
        name: "JWT_MAX_TTL",
        help: "tokens whose exp lies more than this many seconds ahead are refused [default: 86400]",
    },
    Variable {
        name: "CURSOR_SECRET",
        help: "signs list cursors, at least 32 bytes; required with JWT_PUBLIC_KEY_FILE and DATABASE_URL \
               [default: derived from the JWT secret]",
    },
    Variable {
        name: "LOG_FORMAT",
        help: "text, or json for one JSON object per line (access log fields as keys) [default: text]",
    },
    Variable {
        name: "SALESFUNNEL_DATA_DIR",
        help: "folder of the embedded default [default: ./.data]",
    },
    Variable {
        name: "CORS_ALLOWED_ORIGINS",
        help: "comma-separated browser origins allowed to call the API [default: none]",
    },
    Variable {
        name: "WEBHOOK_POLL_INTERVAL_MS",
        help: "how often the webhook worker publishes events and looks for due deliveries [default: 1000]",
    },
    Variable {
        name: "WEBHOOK_RETRY_BASE_MS",
        help: "wait after a delivery's first failed attempt, doubling per failure [default: 10000]",
    },
    Variable {
        name: "WEBHOOK_TIMEOUT_MS",
        help: "time limit of one webhook HTTP attempt [default: 10000]",
    },
    Variable {
        name: "WEBHOOK_ALLOW_PRIVATE_TARGETS",
        help: "true allows webhook targets on loopback, private and link-local addresses (development only) \
               [default: false]",
    },
    Variable {
        name: "WEBHOOK_MAX_ATTEMPTS",
        help: "attempts before a delivery is given up as failed [default: 10]",
    },
    Variable {
        name: "SMTP_URL",
        help: "SMTP server for quote e-mails: smtp://user:password@host:587 (STARTTLS), smtps://host:465, \
               ?tls=none for a plain local relay; unset: .eml files in SALESFUNNEL_DATA_DIR (embedded \
               default) or no e-mail (503)",
    },
    Variable {
        name: "SMTP_FROM",
        help: "sender of quote e-mails, e.g. 'Autohaus Beispiel <angebote@example.com>'; required with SMTP_URL",
    },
    Variable {
        name: "PUBLIC_BASE_URL",
        help: "how customers reach this service, for the links in quote e-mails, e.g. https://crm.example.com \
               [default: http://<BIND>]",
    },
];

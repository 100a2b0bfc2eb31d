//! The bulk seeder's catalogue: topics, descriptions, lost notes and the activities each kind of
//! contact plans.

pub(super) const TOPICS: [&str; 12] = [
    "Anfrage Neufahrzeug",
    "Flottenangebot",
    "Leasinganfrage",
    "Ersatzbeschaffung Dienstwagen",
    "Wartungsvertrag",
    "Inspektion und Service",
    "Reifenservice",
    "Elektromobilität für den Fuhrpark",
    "Probefahrt vereinbart",
    "Rahmenvertrag Fahrzeuge",
    "Werkstattauftrag",
    "Nutzfahrzeug für den Lieferverkehr",
];

pub(super) const DESCRIPTIONS: [&str; 5] = [
    "Kunde wünscht ein Angebot mit Finanzierung über 36 Monate.",
    "Entscheidung fällt in der nächsten Geschäftsführersitzung.",
    "Leasing bevorzugt, Inzahlungnahme des Altfahrzeugs gewünscht.",
    "Budget ist freigegeben, Liefertermin ist entscheidend.",
    "Empfehlung eines Bestandskunden.",
];

pub(super) const LOST_NOTES: [&str; 5] = [
    "Mitbewerber war günstiger.",
    "Projekt wurde verschoben.",
    "Lieferzeit war zu lang.",
    "Kunde hat sich für ein gebrauchtes Fahrzeug entschieden.",
    "Keine Reaktion auf drei Nachfassversuche.",
];

/// An activity kind, its weight and subjects.
pub(super) type Kind = (&'static str, u32, [&'static str; 3]);

/// The contact kinds (in the order of [`CONTACT_KINDS`]), then the others.
pub(super) const KINDS: [Kind; 7] = [
    (
        "call",
        28,
        [
            "Telefonat: Bedarf klären",
            "Rückruf wegen Finanzierung",
            "Nachfassen zum Angebot",
        ],
    ),
    (
        "email",
        24,
        [
            "Angebot per E-Mail versendet",
            "Prospekt und Preisliste gesendet",
            "Rückfragen beantwortet",
        ],
    ),
    (
        "meeting",
        12,
        ["Beratungstermin im Autohaus", "Termin beim Kunden", "Probefahrt"],
    ),
    (
        "appointment",
        8,
        [
            "Angebotsbesprechung",
            "Fahrzeugübergabe besprechen",
            "Termin in der Werkstatt",
        ],
    ),
    (
        "ticket",
        5,
        [
            "Serviceanfrage über das Kundenportal",
            "Reklamation",
            "Anfrage Ersatzteil",
        ],
    ),
    (
        "task",
        13,
        [
            "Finanzierungsvarianten rechnen",
            "Inzahlungnahme bewerten",
            "Unterlagen vorbereiten",
        ],
    ),
    (
        "note",
        10,
        [
            "Notiz zum Gespräch",
            "Wettbewerbsangebot liegt vor",
            "Kunde im Urlaub bis Monatsende",
        ],
    ),
];

/// What gets planned ahead.
pub(super) const PLANNED: [Kind; 3] = [
    (
        "call",
        3,
        ["Rückruf vereinbart", "Nachfassen zum Angebot", "Termin bestätigen"],
    ),
    (
        "appointment",
        4,
        ["Angebotsbesprechung", "Probefahrt", "Fahrzeugübergabe"],
    ),
    (
        "task",
        3,
        [
            "Angebot überarbeiten",
            "Finanzierung anfragen",
            "Unterlagen vorbereiten",
        ],
    ),
];

//! The bulk seeder's catalogue: topics, descriptions, lost notes and the activities each kind of
//! contact plans.

use crate::domain::activity::ActivityKind;

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
pub(super) type Kind = (ActivityKind, u32, [&'static str; 3]);

/// The contact kinds ([`ActivityKind::CONTACTS`], a test checks), then the others.
pub(super) const KINDS: [Kind; 7] = [
    (
        ActivityKind::Call,
        28,
        [
            "Telefonat: Bedarf klären",
            "Rückruf wegen Finanzierung",
            "Nachfassen zum Angebot",
        ],
    ),
    (
        ActivityKind::Email,
        24,
        [
            "Angebot per E-Mail versendet",
            "Prospekt und Preisliste gesendet",
            "Rückfragen beantwortet",
        ],
    ),
    (
        ActivityKind::Meeting,
        12,
        ["Beratungstermin im Autohaus", "Termin beim Kunden", "Probefahrt"],
    ),
    (
        ActivityKind::Appointment,
        8,
        [
            "Angebotsbesprechung",
            "Fahrzeugübergabe besprechen",
            "Termin in der Werkstatt",
        ],
    ),
    (
        ActivityKind::Ticket,
        5,
        [
            "Serviceanfrage über das Kundenportal",
            "Reklamation",
            "Anfrage Ersatzteil",
        ],
    ),
    (
        ActivityKind::Task,
        13,
        [
            "Finanzierungsvarianten rechnen",
            "Inzahlungnahme bewerten",
            "Unterlagen vorbereiten",
        ],
    ),
    (
        ActivityKind::Note,
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
        ActivityKind::Call,
        3,
        ["Rückruf vereinbart", "Nachfassen zum Angebot", "Termin bestätigen"],
    ),
    (
        ActivityKind::Appointment,
        4,
        ["Angebotsbesprechung", "Probefahrt", "Fahrzeugübergabe"],
    ),
    (
        ActivityKind::Task,
        3,
        [
            "Angebot überarbeiten",
            "Finanzierung anfragen",
            "Unterlagen vorbereiten",
        ],
    ),
];

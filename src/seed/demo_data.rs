//! The demo opportunities: what each is, its lines, activities and path through the stages.

use crate::domain::activity::ActivityKind;

/// Hours before now.
pub(super) const fn ago(days: i64, hours: i64) -> i64 {
    days * 24 + hours
}

/// A demo opportunity. Times are hours before now, chosen away from whole days so that the
/// metric's day counts and the traffic light stay as described for a while after seeding.
pub(super) struct Demo {
    pub(super) n: u128,
    pub(super) subject: &'static str,
    pub(super) partner: u128,
    pub(super) class: &'static str,
    pub(super) funnel: u128,
    pub(super) owner: u128,
    /// Stages entered (demo numbers) and when; the first at the creation.
    pub(super) path: &'static [(u128, i64)],
    /// Target value in euros while it has no lines.
    pub(super) target: i64,
    pub(super) lines: &'static [DemoLine],
    pub(super) activities: &'static [DemoActivity],
    pub(super) close_in_days: Option<i64>,
    pub(super) probability_override: Option<i64>,
    /// The lost reason (demo number) and note of a lost one.
    pub(super) lost: Option<(u128, &'static str)>,
    pub(super) erp_reference: Option<&'static str>,
}

/// A demo line: an article (demo number) or a free text line, quantity, price in cents (`None`:
/// the catalogue's), discount percent.
pub(super) type DemoLine = (Option<u128>, &'static str, i64, Option<i64>, i64);

/// A demo activity: kind, subject, done (else planned), hours ago (negative: due in the future).
pub(super) type DemoActivity = (ActivityKind, &'static str, bool, i64);

const NEUWAGEN: u128 = 301;

const SERVICE: u128 = 302;

const ANFRAGE: u128 = 201;

const ERSTGESPRAECH: u128 = 202;

const PROBEFAHRT: u128 = 203;

const ANGEBOT: u128 = 204;

const VERHANDLUNG: u128 = 205;

const GEWONNEN: u128 = 206;

const VERLOREN: u128 = 207;

const NONE: Demo = Demo {
    n: 0,
    subject: "",
    partner: 101,
    class: "NEUWAGEN",
    funnel: NEUWAGEN,
    owner: 3,
    path: &[],
    target: 0,
    lines: &[],
    activities: &[],
    close_in_days: None,
    probability_override: None,
    lost: None,
    erp_reference: None,
};

/// Both demo funnels, every stage of each, won and lost ones, one handed to the ERP, and open
/// ones in every colour of the traffic light (Neuwagen 7/14 days, Verhandlung 3/5, Service 5/10).
pub(super) const DEMO: [Demo; 18] = [
    // Green: created a day ago, no contact yet.
    Demo {
        n: 1001,
        subject: "Kleinwagen für den Pflegedienst (3 Fahrzeuge)",
        partner: 106,
        path: &[(ANFRAGE, ago(1, 6))],
        target: 72_000,
        activities: &[
            (ActivityKind::Note, "Anfrage über das Kontaktformular", true, ago(1, 5)),
            (ActivityKind::Call, "Rückruf: Bedarf klären", false, -20),
        ],
        ..NONE
    },
    // Yellow: last contact 9 days ago.
    Demo {
        n: 1002,
        subject: "Lieferfahrzeug für die Filialbelieferung",
        partner: 102,
        path: &[(ANFRAGE, ago(20, 10)), (ERSTGESPRAECH, ago(18, 8))],
        target: 38_500,
        activities: &[
            (ActivityKind::Call, "Erstgespräch: Bedarf und Budget", true, ago(18, 9)),
            (ActivityKind::Email, "Prospekt und Preisliste gesendet", true, ago(9, 7)),
            (
                ActivityKind::Appointment,
                "Beratungstermin im Autohaus",
                false,
                -ago(2, 4),
            ),
        ],
        close_in_days: Some(45),
        ..NONE
    },
    // Red: last contact three weeks ago; the metric halves its weighted value.
    Demo {
        n: 1003,
        subject: "Škoda Octavia Combi für den Außendienst",
        partner: 105,
        path: &[
            (ANFRAGE, ago(40, 9)),
            (ERSTGESPRAECH, ago(35, 10)),
            (PROBEFAHRT, ago(30, 8)),
        ],
        target: 33_490,
        activities: &[
            (
                ActivityKind::Call,
                "Erstgespräch Außendienstfahrzeug",
                true,
                ago(35, 11),
            ),
            (ActivityKind::Meeting, "Probefahrt Octavia Combi", true, ago(30, 8)),
            (ActivityKind::Call, "Nachfassen nach der Probefahrt", true, ago(21, 14)),
        ],
        close_in_days: Some(20),
        ..NONE
    },
    // The example of the design: 100,000.00 in lines at Angebot (75 %) weighs 75,000.00.
    Demo {
        n: 1004,
        subject: "Flottenerneuerung 2027: 2 × ID.4 Pro",
        partner: 103,
        class: "FLOTTE",
        owner: 2,
        path: &[
            (ANFRAGE, ago(25, 8)),
            (ERSTGESPRAECH, ago(22, 10)),
            (ANGEBOT, ago(10, 6)),
        ],
        lines: &[
            (Some(501), "", 2, None, 0),
            (Some(504), "", 2, None, 0),
            (None, "Überführung und Zulassung", 2, Some(72_000), 0),
        ],
        activities: &[
            (ActivityKind::Meeting, "Bedarfsanalyse Fuhrpark", true, ago(22, 10)),
            (ActivityKind::Email, "Angebot ID.4 Pro versendet", true, ago(10, 6)),
            (ActivityKind::Call, "Rückfragen zur Ladeinfrastruktur", true, ago(2, 7)),
            (
                ActivityKind::Appointment,
                "Angebotsbesprechung mit der Geschäftsführung",
                false,
                -ago(5, 3),
            ),
        ],
        close_in_days: Some(30),
        ..NONE
    },
    // Green in Verhandlung (3/5 days).
    Demo {
        n: 1005,
        subject: "Vorführwagen Golf Life",
        partner: 101,
        path: &[
            (ANFRAGE, ago(15, 9)),
            (PROBEFAHRT, ago(12, 7)),
            (ANGEBOT, ago(8, 10)),
            (VERHANDLUNG, ago(3, 9)),
        ],
        lines: &[(Some(502), "", 1, None, 8)],
        activities: &[
            (ActivityKind::Meeting, "Probefahrt Golf Life", true, ago(12, 7)),
            (ActivityKind::Call, "Preisverhandlung", true, ago(1, 8)),
        ],
        close_in_days: Some(10),
        ..NONE
    },
    // Yellow in Verhandlung: four days without contact.
    Demo {
        n: 1006,
        subject: "Bauleiterfahrzeuge: 3 × Octavia Combi",
        partner: 105,
        class: "FLOTTE",
        owner: 2,
        path: &[
            (ANFRAGE, ago(33, 7)),
            (ERSTGESPRAECH, ago(30, 9)),
            (ANGEBOT, ago(16, 10)),
            (VERHANDLUNG, ago(9, 8)),
        ],
        lines: &[(Some(503), "", 3, None, 5), (Some(504), "", 3, None, 0)],
        activities: &[
            (
                ActivityKind::Meeting,
                "Erstgespräch mit dem Fuhrparkleiter",
                true,
                ago(30, 9),
            ),
            (ActivityKind::Email, "Angebot mit Flottenrabatt", true, ago(16, 10)),
            (ActivityKind::Meeting, "Verhandlung Rahmenvertrag", true, ago(4, 10)),
            (ActivityKind::Task, "Finanzierungsvarianten rechnen", false, -ago(1, 2)),
        ],
        close_in_days: Some(14),
        ..NONE
    },
    // Won and handed to the ERP.
    Demo {
        n: 1007,
        subject: "ID.4 Pro für die Geschäftsleitung",
        partner: 101,
        path: &[
            (ANFRAGE, ago(70, 8)),
            (ERSTGESPRAECH, ago(66, 9)),
            (PROBEFAHRT, ago(60, 10)),
            (ANGEBOT, ago(45, 7)),
            (VERHANDLUNG, ago(30, 9)),
            (GEWONNEN, ago(12, 10)),
        ],
        lines: &[(Some(501), "", 1, None, 3), (Some(504), "", 1, None, 0)],
        activities: &[
            (ActivityKind::Call, "Erstgespräch", true, ago(66, 9)),
            (ActivityKind::Meeting, "Probefahrt ID.4 Pro", true, ago(60, 10)),
            (ActivityKind::Meeting, "Vertragsunterzeichnung", true, ago(12, 10)),
        ],
        close_in_days: Some(-10),
        erp_reference: Some("AB-2026-004711"),
        ..NONE
    },
    // Won, not yet handed to the ERP.
    Demo {
        n: 1008,
        subject: "Poolfahrzeuge: 2 × Golf Life",
        partner: 103,
        class: "FLOTTE",
        owner: 2,
        path: &[
            (ANFRAGE, ago(120, 9)),
            (ERSTGESPRAECH, ago(110, 7)),
            (ANGEBOT, ago(80, 10)),
            (GEWONNEN, ago(48, 8)),
        ],
        lines: &[(Some(502), "", 2, None, 3)],
        activities: &[
            (ActivityKind::Email, "Angebot Poolfahrzeuge", true, ago(80, 10)),
            (ActivityKind::Call, "Zusage telefonisch", true, ago(48, 8)),
        ],
        close_in_days: Some(-45),
        ..NONE
    },
    // Lost to a competitor.
    Demo {
        n: 1009,
        subject: "E-Fahrzeuge für den Bereitschaftsdienst",
        partner: 104,
        path: &[
            (ANFRAGE, ago(64, 9)),
            (ERSTGESPRAECH, ago(58, 10)),
            (VERLOREN, ago(30, 7)),
        ],
        target: 120_000,
        activities: &[
            (
                ActivityKind::Meeting,
                "Vorstellung bei den Stadtwerken",
                true,
                ago(58, 10),
            ),
            (
                ActivityKind::Email,
                "Unterlagen zur Ausschreibung eingereicht",
                true,
                ago(44, 8),
            ),
        ],
        close_in_days: Some(-25),
        lost: Some((
            402,
            "Die Ausschreibung ging an einen Mitbewerber mit kürzerer Lieferzeit.",
        )),
        ..NONE
    },
    // Lost on price, after an offer with lines.
    Demo {
        n: 1010,
        subject: "Leasingangebot 5 × Golf Life",
        partner: 105,
        class: "FLOTTE",
        owner: 2,
        path: &[
            (ANFRAGE, ago(90, 8)),
            (ERSTGESPRAECH, ago(85, 9)),
            (ANGEBOT, ago(70, 7)),
            (VERLOREN, ago(52, 10)),
        ],
        lines: &[(Some(502), "", 5, None, 4)],
        activities: &[
            (ActivityKind::Email, "Leasingangebot versendet", true, ago(70, 7)),
            (ActivityKind::Call, "Absage: Leasingrate zu hoch", true, ago(52, 10)),
        ],
        close_in_days: Some(-50),
        lost: Some((401, "Die Leasingrate lag 12 % über dem Angebot der Hausbank.")),
        ..NONE
    },
    // Red: a web enquiry nobody has called back for over two weeks.
    Demo {
        n: 1011,
        subject: "Anfrage über die Website: Octavia Combi",
        partner: 104,
        path: &[(ANFRAGE, ago(16, 12))],
        target: 31_000,
        activities: &[(ActivityKind::Task, "Interessenten zurückrufen", false, ago(14, 12))],
        ..NONE
    },
    // Green, with a probability override (35 % instead of the stage's 20 %).
    Demo {
        n: 1012,
        subject: "Elektro-Kleinwagen für die Tagespflege",
        partner: 106,
        path: &[(ANFRAGE, ago(6, 8)), (ERSTGESPRAECH, ago(4, 7))],
        target: 26_900,
        activities: &[(
            ActivityKind::Call,
            "Erstgespräch mit der Geschäftsführung",
            true,
            ago(4, 7),
        )],
        close_in_days: Some(60),
        probability_override: Some(35),
        ..NONE
    },
    // Service (5/10 days). Green: a ticket from this morning.
    Demo {
        n: 1013,
        subject: "Inspektion der Lieferwagenflotte",
        partner: 102,
        class: "SERVICE",
        funnel: SERVICE,
        owner: 4,
        path: &[(ANFRAGE, ago(0, 9))],
        target: 1_400,
        activities: &[(
            ActivityKind::Ticket,
            "Serviceanfrage über das Kundenportal",
            true,
            ago(0, 8),
        )],
        close_in_days: Some(7),
        ..NONE
    },
    // Yellow: a week since the last call.
    Demo {
        n: 1014,
        subject: "Wartungsvertrag für die Pflegefahrzeuge",
        partner: 106,
        class: "SERVICE",
        funnel: SERVICE,
        owner: 4,
        path: &[(ANFRAGE, ago(21, 9)), (ERSTGESPRAECH, ago(14, 10))],
        target: 4_800,
        activities: &[
            (ActivityKind::Call, "Erstgespräch Wartungsvertrag", true, ago(14, 10)),
            (ActivityKind::Call, "Rückfrage zu den Intervallen", true, ago(7, 9)),
        ],
        close_in_days: Some(21),
        ..NONE
    },
    // Red: the offer went out twelve days ago without an answer.
    Demo {
        n: 1015,
        subject: "Räderwechsel und Einlagerung Baustellenfahrzeuge",
        partner: 105,
        class: "SERVICE",
        funnel: SERVICE,
        owner: 4,
        path: &[
            (ANFRAGE, ago(30, 10)),
            (ERSTGESPRAECH, ago(26, 8)),
            (ANGEBOT, ago(20, 9)),
        ],
        lines: &[(Some(506), "", 12, None, 0), (Some(507), "", 6, None, 0)],
        activities: &[
            (ActivityKind::Call, "Bedarf Räderwechsel", true, ago(26, 8)),
            (ActivityKind::Email, "Angebot Räderwechsel versendet", true, ago(12, 8)),
            // A follow-up nobody made: overdue for three days.
            (ActivityKind::Call, "Nachfassen: Angebot Räderwechsel", false, ago(3, 9)),
        ],
        close_in_days: Some(5),
        ..NONE
    },
    // Won service order.
    Demo {
        n: 1016,
        subject: "Inspektion und Winterräder für den Vorführwagen",
        partner: 101,
        class: "SERVICE",
        funnel: SERVICE,
        owner: 4,
        path: &[(ANFRAGE, ago(14, 9)), (ANGEBOT, ago(10, 8)), (GEWONNEN, ago(5, 6))],
        lines: &[(Some(505), "", 1, None, 0), (Some(504), "", 1, None, 10)],
        activities: &[
            (ActivityKind::Email, "Kostenvoranschlag versendet", true, ago(10, 8)),
            (ActivityKind::Call, "Auftrag telefonisch bestätigt", true, ago(5, 6)),
            (
                ActivityKind::Note,
                "Termin in der Werkstatt eingeplant",
                true,
                ago(5, 5),
            ),
        ],
        close_in_days: Some(-4),
        ..NONE
    },
    // Lost: no answer.
    Demo {
        n: 1017,
        subject: "Werkstattpaket für den Fuhrpark",
        partner: 104,
        class: "SERVICE",
        funnel: SERVICE,
        owner: 4,
        path: &[
            (ANFRAGE, ago(50, 8)),
            (ERSTGESPRAECH, ago(45, 9)),
            (VERLOREN, ago(20, 7)),
        ],
        target: 9_500,
        activities: &[
            (ActivityKind::Call, "Erstgespräch Werkstattpaket", true, ago(45, 9)),
            (ActivityKind::Email, "Nachfassen", true, ago(35, 10)),
        ],
        close_in_days: Some(-20),
        lost: Some((404, "Nach drei Nachfassversuchen keine Antwort.")),
        ..NONE
    },
    // Green: an offer for workshop hours, met yesterday.
    Demo {
        n: 1018,
        subject: "Umbau Kühlfahrzeug: Werkstattstunden",
        partner: 102,
        class: "SERVICE",
        funnel: SERVICE,
        owner: 2,
        path: &[(ANFRAGE, ago(9, 7)), (ERSTGESPRAECH, ago(6, 9)), (ANGEBOT, ago(3, 8))],
        lines: &[(Some(507), "", 16, None, 0)],
        activities: &[
            (
                ActivityKind::Meeting,
                "Fahrzeugbesichtigung in der Werkstatt",
                true,
                ago(1, 9),
            ),
            // The next step, due in two days.
            (ActivityKind::Call, "Rückruf: Auftrag Kühlfahrzeug", false, -ago(2, 3)),
        ],
        close_in_days: Some(12),
        ..NONE
    },
];

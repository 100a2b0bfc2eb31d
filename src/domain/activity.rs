//! Rules of activities: which kinds count as a contact with the customer.

crate::domain::text_enum! {
    /// What kind of activity it is; the first five are contacts.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum ActivityKind {
        /// A phone call (contact).
        Call = "call",
        /// An e-mail (contact).
        Email = "email",
        /// A meeting (contact).
        Meeting = "meeting",
        /// An appointment (contact).
        Appointment = "appointment",
        /// A support or CRM ticket (contact).
        Ticket = "ticket",
        /// A to-do; not a contact.
        Task = "task",
        /// A note; not a contact.
        Note = "note",
    }
}

impl ActivityKind {
    /// The kinds that are a contact with the customer: a done one sets the opportunity's
    /// `last_contact_at`, which the traffic light and the metric's `days_since_contact` read.
    pub const CONTACTS: [ActivityKind; 5] = [
        ActivityKind::Call,
        ActivityKind::Email,
        ActivityKind::Meeting,
        ActivityKind::Appointment,
        ActivityKind::Ticket,
    ];

    /// Whether a done activity of this kind is a contact.
    pub fn is_contact(self) -> bool {
        Self::CONTACTS.contains(&self)
    }
}

#[cfg(test)]
mod tests {
    use super::ActivityKind;

    #[test]
    fn tasks_and_notes_are_the_only_kinds_that_are_no_contact() {
        let others: Vec<&str> = ActivityKind::ALL
            .iter()
            .filter(|kind| !kind.is_contact())
            .map(|kind| kind.as_str())
            .collect();
        assert_eq!(others, ["task", "note"]);
    }
}

//! The demo buying centres: contact persons with their roles on a few demo opportunities, and
//! the person each of their contact activities (call, e-mail, meeting, appointment) was with.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::demo_id;
use crate::db::Conn;
use crate::domain::activity::ActivityKind;
use crate::domain::contact::ContactRole;
use crate::error::AppError;
use crate::ids::OpportunityId;
use crate::schema::{activities, opportunity_contacts as oc};

/// (opportunity, its contacts in order with their roles); the first is the person its contact
/// activities were with. Contacts are demo numbers of `contacts::DEMO_CONTACTS` of the
/// opportunity's partner.
const BUYING_CENTRES: [(u128, &[(u128, ContactRole)]); 5] = [
    (1002, &[(603, ContactRole::DecisionMaker)]),
    (1004, &[(606, ContactRole::DecisionMaker), (605, ContactRole::Buyer)]),
    (1006, &[(609, ContactRole::DecisionMaker), (610, ContactRole::User)]),
    (
        1007,
        &[(601, ContactRole::DecisionMaker), (602, ContactRole::Influencer)],
    ),
    (1009, &[(607, ContactRole::Technical), (608, ContactRole::Buyer)]),
];

/// Adds the buying centres of the demo opportunities just `added`.
pub(super) async fn load(conn: &mut Conn, added: &[OpportunityId]) -> Result<(), AppError> {
    for (n, people) in BUYING_CENTRES {
        let opportunity = demo_id(n);
        if !added.iter().any(|id| id.0 == opportunity) {
            continue;
        }
        let rows: Vec<_> = (0_i16..)
            .zip(people.iter())
            .map(|(position, &(contact, role))| {
                (
                    oc::opportunity_id.eq(opportunity),
                    oc::contact_id.eq(demo_id(contact)),
                    oc::role.eq(role),
                    oc::position.eq(position),
                )
            })
            .collect();
        diesel::insert_into(oc::table).values(rows).execute(conn).await?;
        let Some(&(first, _)) = people.first() else { continue };
        let met: Vec<ActivityKind> = ActivityKind::CONTACTS
            .iter()
            .copied()
            .filter(|kind| *kind != ActivityKind::Ticket)
            .collect();
        diesel::update(
            activities::table
                .filter(activities::opportunity_id.eq(Some(opportunity)))
                .filter(activities::kind.eq_any(met)),
        )
        .set(activities::contact_id.eq(Some::<Uuid>(demo_id(first))))
        .execute(conn)
        .await?;
    }
    Ok(())
}

//! `?expand=business_partner,owner,stage,contacts` on the opportunity get and list: the
//! related objects embedded in each opportunity, read with one statement per relation for the
//! whole page (by the ids the page holds), never one per opportunity.

use std::collections::HashMap;
use std::hash::Hash;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Deserializer};
use utoipa::{IntoParams, ToSchema};

use super::embedded::{ContactPerson, OpportunityOwner, PartnerSummary, StageSummary};
use super::view::Opportunity;
use crate::db::Conn;
use crate::error::AppError;
use crate::ids::ContactId;
use crate::schema::{business_partners as bp, contacts, stages, users};

/// A relation `?expand=` embeds in an opportunity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Expansion {
    /// `business_partner`: id, number, name, kind, city.
    BusinessPartner,
    /// `owner`: id, display name, e-mail.
    Owner,
    /// `stage`: id, code, name, icon, probability, outcome.
    Stage,
    /// `contact` in each entry of `contacts`: the person.
    Contacts,
}

impl Expansion {
    const NAMES: [(&'static str, Self); 4] = [
        ("business_partner", Self::BusinessPartner),
        ("owner", Self::Owner),
        ("stage", Self::Stage),
        ("contacts", Self::Contacts),
    ];
}

/// Which related objects to embed.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExpandQuery {
    /// Related objects to embed, comma-separated: `business_partner`, `owner`, `stage`,
    /// `contacts`. An unknown name is a 400.
    #[serde(default, deserialize_with = "comma_separated")]
    #[param(value_type = Option<Vec<Expansion>>, style = Form, explode = false,
            example = json!(["business_partner", "owner", "stage", "contacts"]))]
    pub expand: Vec<Expansion>,
}

/// `a,b,c` into the relations it names; an empty value names none.
fn comma_separated<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Expansion>, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| {
            Expansion::NAMES
                .iter()
                .find(|(known, _)| *known == name)
                .map(|(_, expansion)| *expansion)
                .ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "expand: unknown relation '{name}'; expected business_partner, owner, stage or contacts"
                    ))
                })
        })
        .collect()
}

impl ExpandQuery {
    fn wants(&self, expansion: Expansion) -> bool {
        self.expand.contains(&expansion)
    }
}

/// The distinct keys of `items`.
fn distinct<T, K: Eq + Hash + Copy>(items: &[T], key: impl Fn(&T) -> K) -> Vec<K> {
    let mut keys: Vec<K> = Vec::new();
    for item in items {
        let k = key(item);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys
}

/// Embeds what `expand` asks for in `page`: at most one statement per relation.
pub async fn embed(conn: &mut Conn, expand: &ExpandQuery, page: &mut [Opportunity]) -> Result<(), AppError> {
    if page.is_empty() {
        return Ok(());
    }
    if expand.wants(Expansion::BusinessPartner) {
        let ids = distinct(page, |o| o.business_partner_id);
        let found: HashMap<_, PartnerSummary> = bp::table
            .filter(bp::id.eq_any(&ids))
            .select((bp::id, bp::number, bp::name, bp::kind, bp::city))
            .load::<PartnerSummary>(conn)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        for o in page.iter_mut() {
            o.business_partner = found.get(&o.business_partner_id).cloned();
        }
    }
    if expand.wants(Expansion::Owner) {
        let ids = distinct(page, |o| o.owner_id);
        let found: HashMap<_, OpportunityOwner> = users::table
            .filter(users::id.eq_any(&ids))
            .select((users::id, users::display_name, users::email))
            .load::<OpportunityOwner>(conn)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
        for o in page.iter_mut() {
            o.owner = found.get(&o.owner_id).cloned();
        }
    }
    if expand.wants(Expansion::Stage) {
        let ids = distinct(page, |o| o.stage_id);
        let found: HashMap<_, StageSummary> = stages::table
            .filter(stages::id.eq_any(&ids))
            .select((
                stages::id,
                stages::code,
                stages::name,
                stages::icon,
                stages::probability,
                stages::outcome,
            ))
            .load::<StageSummary>(conn)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
        for o in page.iter_mut() {
            o.stage = found.get(&o.stage_id).cloned();
        }
    }
    if expand.wants(Expansion::Contacts) {
        embed_contacts(conn, page).await?;
    }
    Ok(())
}

/// The person of each contact entry of `page`, in one statement.
async fn embed_contacts(conn: &mut Conn, page: &mut [Opportunity]) -> Result<(), AppError> {
    let ids: Vec<ContactId> = page
        .iter()
        .flat_map(|o| o.contacts.iter().map(|c| c.contact_id))
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let found: HashMap<ContactId, ContactPerson> = contacts::table
        .filter(contacts::id.eq_any(&ids))
        .select((
            contacts::id,
            contacts::salutation,
            contacts::title,
            contacts::first_name,
            contacts::last_name,
            contacts::email,
            contacts::phone,
            contacts::mobile,
            contacts::position,
            contacts::is_primary,
            contacts::active,
        ))
        .load::<ContactPerson>(conn)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    for entry in page.iter_mut().flat_map(|o| o.contacts.iter_mut()) {
        entry.contact = found.get(&entry.contact_id).cloned();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Result<Vec<Expansion>, String> {
        actix_web::web::Query::<ExpandQuery>::from_query(query)
            .map(|q| q.into_inner().expand)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn expand_takes_a_comma_separated_list_of_known_relations() {
        assert_eq!(parse(""), Ok(vec![]));
        assert_eq!(parse("expand="), Ok(vec![]));
        assert_eq!(
            parse("expand=stage,contacts"),
            Ok(vec![Expansion::Stage, Expansion::Contacts])
        );
        assert_eq!(
            parse("expand=business_partner,owner"),
            Ok(vec![Expansion::BusinessPartner, Expansion::Owner])
        );
        assert!(parse("expand=owner,lines").is_err_and(|e| e.contains("'lines'")));
    }
}

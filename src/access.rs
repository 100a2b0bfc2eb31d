//! The one access policy: what a principal may read and what it may write.
//!
//! A caller's rights are the union of its roles' rights. The rep role grants reads and writes
//! of opportunities (with their lines, activities and quotes) only inside the rep fence: the
//! opportunities of funnels whose team includes the rep, or that the rep owns. The fence
//! applies to every operation that only the rep role grants the caller, so `["rep","viewer"]`
//! reads everything but writes only inside the fence. Handlers and stores ask this module;
//! nothing else decides who sees or changes what.

use diesel::expression::BoxableExpression;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::Conn;
use crate::error::AppError;
use crate::ids::{FunnelId, UserId};
use crate::schema::{funnel_members, opportunities as opp};

crate::domain::text_enum! {
    /// What a caller may do; a token carries one or more.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, clap::ValueEnum)]
    #[serde(rename_all = "snake_case")]
    pub enum Role {
        /// Everything, including configuration.
        Admin = "admin",
        /// Reads all; writes partners, opportunities, lines, activities, quotes.
        Manager = "manager",
        /// Reads configuration and partners; writes partners and the opportunities of their teams.
        Rep = "rep",
        /// Reads all, writes nothing.
        Viewer = "viewer",
        /// ERP systems: reads all, event feed, upserts articles and partners.
        Integration = "integration",
    }
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The token's `sub`: a user id for reps and managers.
    pub subject: String,
    pub roles: Vec<Role>,
}

impl Principal {
    /// The caller's user id, when `sub` is one.
    pub fn user_id(&self) -> Option<UserId> {
        Uuid::parse_str(&self.subject).ok().map(UserId)
    }
}

impl Role {
    /// Any authenticated role may read.
    pub fn can_read(self) -> bool {
        true
    }

    /// Configuration (users, stages, funnels, …) is the admin's.
    pub fn can_configure(self) -> bool {
        self == Self::Admin
    }

    /// Business partners: everyone but viewers.
    pub fn can_write_partners(self) -> bool {
        self != Self::Viewer
    }

    /// Contact persons belong to their business partner: whoever writes partners writes (and
    /// deletes) their contacts. Like partners, contacts have no rep fence: everyone reads them.
    pub fn can_write_contacts(self) -> bool {
        self.can_write_partners()
    }

    /// Articles come from the ERP: admins and the integration role upsert them by sku.
    pub fn can_upsert_articles(self) -> bool {
        matches!(self, Self::Admin | Self::Integration)
    }

    /// Exchange rates come from the ERP: admins and the integration role write them.
    pub fn can_write_exchange_rates(self) -> bool {
        matches!(self, Self::Admin | Self::Integration)
    }

    /// Quotas: admins and managers set them.
    pub fn can_write_quotas(self) -> bool {
        matches!(self, Self::Admin | Self::Manager)
    }

    /// Deleting partners is left to those who curate the data.
    pub fn can_delete_partners(self) -> bool {
        matches!(self, Self::Admin | Self::Manager)
    }

    /// Opportunities with their lines, activities and quotes: admins, managers, and reps
    /// (inside their fence).
    pub fn can_write_opportunities(self) -> bool {
        matches!(self, Self::Admin | Self::Manager | Self::Rep)
    }

    /// The event feed: for integrations, and admins.
    pub fn can_read_events(self) -> bool {
        matches!(self, Self::Admin | Self::Integration)
    }

    /// An ERP's keys (`external_id`) and the upserts by them.
    pub fn can_set_external_ids(self) -> bool {
        matches!(self, Self::Admin | Self::Integration)
    }

    /// Batches of writes: whoever may write something; each operation is then checked as if
    /// sent alone.
    pub fn can_send_batches(self) -> bool {
        self != Self::Viewer
    }

    /// Recording the ERP order of a won opportunity.
    pub fn can_hand_off(self) -> bool {
        matches!(self, Self::Admin | Self::Integration)
    }

    /// Whether this role grants nothing `other` does not: admin covers every role, manager
    /// covers rep and viewer, integration covers viewer.
    fn covers(self, other: Role) -> bool {
        self == other
            || self == Self::Admin
            || (self == Self::Manager && matches!(other, Self::Rep | Self::Viewer))
            || (self == Self::Integration && other == Self::Viewer)
    }

    /// Whether what this role grants on opportunities stops at the rep fence.
    fn fenced(self) -> bool {
        self == Self::Rep
    }
}

/// A token's roles limited to its user's stored role: a role the stored one covers stays, one
/// that covers the stored role becomes it (a demoted admin's token grants what the user now
/// has), any other is dropped.
pub fn limit_to(roles: &[Role], stored: Role) -> Vec<Role> {
    let mut limited: Vec<Role> = roles
        .iter()
        .filter_map(|role| {
            if stored.covers(*role) {
                Some(*role)
            } else if role.covers(stored) {
                Some(stored)
            } else {
                None
            }
        })
        .collect();
    limited.dedup();
    limited
}

/// Which opportunities (and their lines, activities and quotes) an operation may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Every opportunity.
    All,
    /// Inside a rep's fence: those they own and those of funnels whose team includes them.
    Rep(UserId),
    /// None: a fenced role whose subject is not a user id.
    Nothing,
}

impl Principal {
    /// 403 unless one of the caller's roles satisfies `rule`.
    pub fn require(&self, rule: fn(Role) -> bool) -> Result<(), AppError> {
        if self.may(rule) {
            Ok(())
        } else {
            Err(AppError::Forbidden("your role may not do this".to_owned()))
        }
    }

    /// Whether one of the caller's roles satisfies `rule`.
    pub fn may(&self, rule: fn(Role) -> bool) -> bool {
        self.roles.iter().any(|role| rule(*role))
    }

    /// The opportunities the caller may read.
    pub fn read_scope(&self) -> Visibility {
        self.scope(Role::can_read)
    }

    /// The opportunities whose data (the opportunity, its lines, activities and quotes) the
    /// caller may write; 403 when no role grants such writes.
    pub fn write_scope(&self) -> Result<Visibility, AppError> {
        self.require(Role::can_write_opportunities)?;
        Ok(self.scope(Role::can_write_opportunities))
    }

    /// The owner whose quotas alone the caller reads: a caller that reads only as a rep sees
    /// the quotas set for them (the nil id, owner of none, when its subject is no user);
    /// `None` when it reads every quota.
    pub fn quota_owner(&self) -> Option<UserId> {
        fenced_rep(self.read_scope())
    }

    /// The union of what the roles granting `rule` cover: everything as soon as one of them is
    /// not fenced, else the fence.
    fn scope(&self, rule: fn(Role) -> bool) -> Visibility {
        let granting: Vec<Role> = self.roles.iter().copied().filter(|role| rule(*role)).collect();
        if granting.is_empty() {
            Visibility::Nothing
        } else if granting.iter().all(|role| role.fenced()) {
            self.user_id().map_or(Visibility::Nothing, Visibility::Rep)
        } else {
            Visibility::All
        }
    }
}

/// The funnels whose team includes `user`.
pub async fn team_funnels(conn: &mut Conn, user: UserId) -> Result<Vec<FunnelId>, AppError> {
    Ok(funnel_members::table
        .filter(funnel_members::user_id.eq(user))
        .select(funnel_members::funnel_id)
        .load(conn)
        .await?)
}

/// The fence of a rep: the opportunities they own and those of their team funnels.
#[diesel::dsl::auto_type]
fn seen_by_rep(user: UserId, teams: Vec<FunnelId>) -> _ {
    opp::owner_id.eq(user).or(opp::funnel_id.eq_any(teams))
}

/// The rep a scope is fenced to, as hand-written statements bind it: `None` for `All`, the nil id
/// (which owns nothing and is in no team) for `Nothing`.
pub fn fenced_rep(scope: Visibility) -> Option<UserId> {
    match scope {
        Visibility::All => None,
        Visibility::Rep(user) => Some(user),
        Visibility::Nothing => Some(UserId(Uuid::nil())),
    }
}

/// [`seen_by_rep`] as SQL for hand-written statements: true when `rep` (an expression of
/// [`fenced_rep`]'s value) is null or the opportunity aliased `opportunity` is inside its fence.
pub fn rep_fence_sql(opportunity: &str, rep: &str) -> String {
    format!(
        "({rep} IS NULL OR {opportunity}.owner_id = {rep} OR {})",
        in_team_sql(&format!("{opportunity}.funnel_id"), rep)
    )
}

/// Whether the team of funnel `funnel` includes `rep` (SQL expressions): what [`covers_known`]
/// takes as `in_team`.
pub fn in_team_sql(funnel: &str, rep: &str) -> String {
    format!("EXISTS (SELECT 1 FROM funnel_members m WHERE m.funnel_id = {funnel} AND m.user_id = {rep})")
}

/// The ids of the opportunities inside a rep's fence, as a subquery.
#[diesel::dsl::auto_type]
fn fenced_ids(user: UserId, teams: Vec<FunnelId>) -> _ {
    opp::table
        .filter(opp::owner_id.eq(user).or(opp::funnel_id.eq_any(teams)))
        .select(opp::id)
}

/// The rep and team funnels a fenced scope stands for; `None` for `All`. `Nothing` is the fence
/// of the nil id with no teams, which no opportunity is inside.
pub async fn fence(conn: &mut Conn, scope: Visibility) -> Result<Option<(UserId, Vec<FunnelId>)>, AppError> {
    Ok(match scope {
        Visibility::All => None,
        Visibility::Rep(user) => Some((user, team_funnels(conn, user).await?)),
        Visibility::Nothing => Some((UserId(Uuid::nil()), Vec::new())),
    })
}

/// The ids of the opportunities `scope` covers, as a subquery for conditions on tables that
/// refer to opportunities (activities, quotes); `None` when it covers all. A rep's team funnels
/// are looked up first (a handful of ids), which keeps the statement cacheable.
pub async fn opportunity_ids(conn: &mut Conn, scope: Visibility) -> Result<Option<FencedIds>, AppError> {
    Ok(fence(conn, scope).await?.map(|(user, teams)| fenced_ids(user, teams)))
}

/// The subquery [`opportunity_ids`] returns.
pub type FencedIds = fenced_ids;

/// The opportunities `scope` covers, as a condition on any query over `opportunities`.
pub async fn opportunities_in<QS: 'static>(
    conn: &mut Conn,
    scope: Visibility,
) -> Result<Box<dyn BoxableExpression<QS, Pg, SqlType = Bool>>, AppError>
where
    opp::id: SelectableExpression<QS>,
    opp::owner_id: SelectableExpression<QS>,
    opp::funnel_id: SelectableExpression<QS>,
{
    Ok(match fence(conn, scope).await? {
        // The primary key is never null: the planner drops this condition.
        None => Box::new(opp::id.is_not_null()),
        Some((user, teams)) => Box::new(seen_by_rep(user, teams)),
    })
}

/// Whether `scope` covers an opportunity of `funnel` owned by `owner` (where one may be
/// created, or moved to).
pub async fn covers(conn: &mut Conn, scope: Visibility, funnel: FunnelId, owner: UserId) -> Result<bool, AppError> {
    let in_team = match scope {
        Visibility::Rep(user) if user != owner => {
            diesel::select(diesel::dsl::exists(funnel_members::table.find((funnel, user))))
                .get_result(conn)
                .await?
        }
        Visibility::All | Visibility::Nothing | Visibility::Rep(_) => false,
    };
    Ok(covers_known(scope, owner, in_team))
}

/// [`covers`] for a caller that already knows whether the funnel's team includes the rep
/// (`in_team`; read in the same statement as the rest of what a write checks).
pub fn covers_known(scope: Visibility, owner: UserId, in_team: bool) -> bool {
    match scope {
        Visibility::All => true,
        Visibility::Nothing => false,
        Visibility::Rep(user) => user == owner || in_team,
    }
}

/// Who changes something: the token's subject, recorded in the history.
#[derive(Debug, Clone)]
pub struct Actor {
    pub who: Visibility,
    pub subject: String,
    pub user_id: Option<UserId>,
}

impl Actor {
    /// The actor of an ERP's upsert by external id (admin, integration): it may change every
    /// opportunity; 403 for other roles.
    pub fn of_sync(who: &Principal) -> Result<Self, AppError> {
        who.require(Role::can_set_external_ids)?;
        Ok(Self {
            who: Visibility::All,
            subject: who.subject.clone(),
            user_id: who.user_id(),
        })
    }

    /// The actor of a write by `who`: what it may change and who it is; 403 when it may change
    /// nothing.
    pub fn of(who: &Principal) -> Result<Self, AppError> {
        Ok(Self {
            who: who.write_scope()?,
            subject: who.subject.clone(),
            user_id: who.user_id(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(roles: &[Role]) -> Principal {
        Principal {
            subject: Uuid::nil().to_string(),
            roles: roles.to_vec(),
        }
    }

    #[test]
    fn role_rules() {
        assert!(Role::Admin.can_configure() && !Role::Manager.can_configure());
        assert!(Role::Rep.can_write_partners() && !Role::Viewer.can_write_partners());
        assert!(!Role::Rep.can_delete_partners());
        assert!(Role::Rep.can_write_contacts() && Role::Integration.can_write_contacts());
        assert!(!Role::Viewer.can_write_contacts());
        assert!(Role::Integration.can_write_exchange_rates() && !Role::Manager.can_write_exchange_rates());
        assert!(Role::Manager.can_write_quotas() && !Role::Rep.can_write_quotas());
        assert!(!Role::Integration.can_write_quotas());
    }

    #[test]
    fn a_rep_reads_only_their_own_quotas() {
        assert_eq!(principal(&[Role::Rep]).quota_owner(), Some(UserId(Uuid::nil())));
        assert_eq!(principal(&[Role::Rep, Role::Viewer]).quota_owner(), None);
        assert_eq!(principal(&[Role::Manager]).quota_owner(), None);
    }

    #[test]
    fn a_rep_with_another_role_reads_everything_but_writes_inside_the_fence() {
        for other in [Role::Viewer, Role::Integration] {
            let who = principal(&[Role::Rep, other]);
            assert_eq!(who.read_scope(), Visibility::All);
            assert_eq!(who.write_scope().ok(), Some(Visibility::Rep(UserId(Uuid::nil()))));
        }
    }

    #[test]
    fn a_rep_with_a_manager_or_admin_role_writes_everything() {
        for other in [Role::Manager, Role::Admin] {
            assert_eq!(principal(&[Role::Rep, other]).write_scope().ok(), Some(Visibility::All));
        }
    }

    #[test]
    fn token_roles_are_limited_to_the_stored_role() {
        assert_eq!(limit_to(&[Role::Admin], Role::Viewer), vec![Role::Viewer]);
        assert_eq!(limit_to(&[Role::Rep, Role::Viewer], Role::Rep), vec![Role::Rep]);
        assert_eq!(
            limit_to(&[Role::Rep, Role::Viewer], Role::Manager),
            vec![Role::Rep, Role::Viewer]
        );
        assert!(limit_to(&[Role::Integration], Role::Rep).is_empty());
        assert_eq!(limit_to(&[Role::Manager], Role::Admin), vec![Role::Manager]);
    }

    #[test]
    fn roles_without_opportunity_writes_get_no_write_scope() {
        assert!(principal(&[Role::Viewer, Role::Integration]).write_scope().is_err());
    }
}

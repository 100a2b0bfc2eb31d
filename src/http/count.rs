//! `?count=true` on the keyset lists: the rows matching a list's filters, counted in one
//! statement that stops reading beyond [`COUNT_CAP`] (`total_is_estimate` then).

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::result::QueryResult;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;

use super::pagination::{COUNT_CAP, Page};
use crate::db::Conn;
use crate::error::AppError;

impl Page {
    /// With `count=true`, the rows of `query` (the list's filtered query, without keyset, order
    /// and limit) counted up to one beyond [`COUNT_CAP`] in one statement; `None` otherwise.
    pub async fn total<Q>(&self, conn: &mut Conn, query: Q) -> Result<Option<i64>, AppError>
    where
        Q: QueryFragment<Pg> + Send,
    {
        if !self.counts() {
            return Ok(None);
        }
        Ok(Some(Capped(query).get_result(conn).await?))
    }
}

/// `SELECT count(*) FROM (query LIMIT cap + 1)`: an exact count up to the cap that stops reading
/// rows beyond it.
struct Capped<Q>(Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Capped<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT count(*) FROM (");
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(" LIMIT ");
        out.push_sql(&(COUNT_CAP + 1).to_string());
        out.push_sql(") AS counted");
        Ok(())
    }
}

impl<Q> QueryId for Capped<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Query for Capped<Q> {
    type SqlType = BigInt;
}

//! Hand-written statements that PostgreSQL plans once per connection. diesel's `sql_query` is
//! never kept as a prepared statement (its text could be built at run time), so PostgreSQL
//! would parse and plan the hot paths' CTEs on every request. A [`Statement`] is a fixed text
//! whose parameters `$1`, `$2`, … each appear once and in order; [`Prepared`] binds values to
//! it like `sql_query` does, and diesel's statement cache keeps it prepared per connection.

use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::result::QueryResult;
use diesel::sql_types::Untyped;

/// A statement's text, cut at its parameters.
#[derive(Debug)]
pub struct Statement {
    pieces: Vec<String>,
}

impl Statement {
    /// Cuts `sql` at `$1`, `$2`, …; panics (once, when the statement is first used, and in
    /// the unit tests of every statement) unless each parameter appears once and in order.
    pub fn new(sql: &str) -> Self {
        let mut pieces = vec![String::new()];
        let mut rest = sql;
        let mut expected = 1;
        while let Some(at) = rest.find('$') {
            let digits = rest[at + 1..].chars().take_while(char::is_ascii_digit).count();
            if let Some(piece) = pieces.last_mut() {
                piece.push_str(&rest[..at]);
            }
            if digits == 0 {
                if let Some(piece) = pieces.last_mut() {
                    piece.push('$');
                }
                rest = &rest[at + 1..];
                continue;
            }
            let number: usize = rest[at + 1..at + 1 + digits].parse().unwrap_or(0);
            assert_eq!(
                number, expected,
                "parameters appear once and in order: ${number} where ${expected} belongs"
            );
            expected += 1;
            pieces.push(String::new());
            rest = &rest[at + 1 + digits..];
        }
        if let Some(piece) = pieces.last_mut() {
            piece.push_str(rest);
        }
        Self { pieces }
    }

    /// How many parameters it takes.
    pub fn parameters(&self) -> usize {
        self.pieces.len() - 1
    }

    /// The statement with no values bound yet.
    pub fn query(&'static self) -> Prepared {
        Prepared {
            statement: self,
            binds: Vec::with_capacity(self.parameters()),
        }
    }
}

type Bind = Box<dyn QueryFragment<Pg> + Send + Sync>;

/// A [`Statement`] with values bound to its parameters, in order; run it with diesel-async's
/// `RunQueryDsl` into `QueryableByName` rows.
pub struct Prepared {
    statement: &'static Statement,
    binds: Vec<Bind>,
}

impl Prepared {
    /// Binds the next parameter as SQL type `ST`.
    pub fn bind<ST, T>(mut self, value: T) -> Self
    where
        T: AsExpression<ST>,
        T::Expression: QueryFragment<Pg> + Send + Sync + 'static,
        ST: diesel::sql_types::SqlType + diesel::expression::TypedExpressionType,
    {
        self.binds.push(Box::new(value.as_expression()));
        self
    }
}

impl QueryFragment<Pg> for Prepared {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        if self.binds.len() != self.statement.parameters() {
            return Err(diesel::result::Error::QueryBuilderError(
                format!(
                    "{} values bound to a statement of {} parameters",
                    self.binds.len(),
                    self.statement.parameters()
                )
                .into(),
            ));
        }
        let mut binds = self.binds.iter();
        for (i, piece) in self.statement.pieces.iter().enumerate() {
            out.push_sql(piece);
            if i + 1 < self.statement.pieces.len()
                && let Some(bind) = binds.next()
            {
                // Writes `$n` for the next parameter: the same numbers as the text had.
                bind.walk_ast(out.reborrow())?;
            }
        }
        Ok(())
    }
}

impl QueryId for Prepared {
    type QueryId = ();

    // Not a type's query: diesel keys the cache by the text and the bind types.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Prepared {
    type SqlType = Untyped;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_is_cut_at_its_parameters() {
        let statement = Statement::new("SELECT $1::int + $2, '$' FROM t WHERE x = $3");
        assert_eq!(statement.parameters(), 3);
        assert_eq!(statement.pieces, ["SELECT ", "::int + ", ", '$' FROM t WHERE x = ", ""]);
    }

    #[test]
    #[should_panic(expected = "once and in order")]
    fn a_parameter_used_twice_is_refused() {
        Statement::new("SELECT $1, $1");
    }
}

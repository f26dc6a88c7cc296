//! "This column is one of these ids" as one SQL text whatever the number of ids, so the
//! statement is prepared once and then served from the connection's statement cache.
//! Diesel's `eq_any` writes one placeholder per id and never caches such a statement: on a
//! list page, preparing the lookups of its 50 rows cost more than running them.
//!
//! SQLite reads the ids from one JSON array parameter (`json_each`); a PostgreSQL backend
//! binds an array instead (`= ANY(?)`), behind this same function.

use diesel::expression::{AppearsOnTable, Expression, ValidGrouping, is_aggregate};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Text};
use diesel::sqlite::Sqlite;
use diesel::{QueryResult, SelectableExpression};

/// `column IN (ids)`, written the same way for any number of ids.
pub fn one_of<C>(column: C, ids: &[i64]) -> OneOf<C>
where
    C: Expression<SqlType = BigInt>,
{
    let mut array = String::with_capacity(ids.len() * 8 + 2);
    array.push('[');
    for (index, id) in ids.iter().enumerate() {
        if index > 0 {
            array.push(',');
        }
        array.push_str(&id.to_string());
    }
    array.push(']');
    OneOf { column, ids: array }
}

#[derive(Debug, Clone)]
pub struct OneOf<C> {
    column: C,
    /// The ids as a JSON array.
    ids: String,
}

impl<C> Expression for OneOf<C> {
    type SqlType = Bool;
}

impl<C, QS> AppearsOnTable<QS> for OneOf<C> where C: AppearsOnTable<QS> {}

impl<C, QS> SelectableExpression<QS> for OneOf<C> where C: SelectableExpression<QS> {}

impl<C> ValidGrouping<()> for OneOf<C> {
    type IsAggregate = is_aggregate::Never;
}

/// Not a static query id: the statement is cached by its SQL text, which never varies.
impl<C> QueryId for OneOf<C> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C> QueryFragment<Sqlite> for OneOf<C>
where
    C: QueryFragment<Sqlite>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (SELECT value FROM json_each(");
        out.push_bind_param::<Text, _>(&self.ids)?;
        out.push_sql("))");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sqlite::SqliteConnection;

    use super::one_of;

    diesel::table! {
        items (id) {
            id -> BigInt,
        }
    }

    fn matching(conn: &mut SqliteConnection, ids: &[i64]) -> Vec<i64> {
        items::table
            .filter(one_of(items::id, ids))
            .order(items::id)
            .select(items::id)
            .load(conn)
            .expect("a query")
    }

    #[test]
    fn finds_exactly_the_listed_ids_whatever_their_number() {
        let mut conn = SqliteConnection::establish(":memory:").expect("a database");
        conn.batch_execute(
            "CREATE TABLE items (id INTEGER PRIMARY KEY);
             INSERT INTO items (id) VALUES (1), (2), (3), (40000000000);",
        )
        .expect("a table");
        assert_eq!(matching(&mut conn, &[]), Vec::<i64>::new());
        assert_eq!(matching(&mut conn, &[3, 1, 99]), vec![1, 3]);
        assert_eq!(
            matching(&mut conn, &[40_000_000_000, -1]),
            vec![40_000_000_000]
        );
        let many: Vec<i64> = (1..=5000).collect();
        assert_eq!(matching(&mut conn, &many), vec![1, 2, 3]);
    }
}

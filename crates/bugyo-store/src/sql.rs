//! Queries built at run time from optional filters: the one way the store
//! writes a SELECT whose conditions depend on what was asked. Conditions
//! are appended with `?` for their value; [`Conditions`] numbers them
//! (`$1`, `$2`, … as both backends take them) and binds the values in
//! order, so a value never becomes SQL text.

use sqlx::any::{Any, AnyArguments};
use sqlx::query::Query;

/// A value bound to a built query.
#[derive(Clone, Debug)]
pub(crate) enum Arg {
    Int(i64),
    Text(String),
}

/// SQL text and the values its placeholders stand for.
#[derive(Debug)]
pub(crate) struct Conditions {
    sql: String,
    args: Vec<Arg>,
}

impl Conditions {
    /// Starts from `sql` (with no placeholder).
    pub(crate) fn new(sql: impl Into<String>) -> Conditions {
        Conditions {
            sql: sql.into(),
            args: Vec::new(),
        }
    }

    /// Appends `sql`, whose one `?` stands for `arg`.
    pub(crate) fn and(&mut self, sql: &str, arg: Arg) {
        self.args.push(arg);
        self.sql
            .push_str(&sql.replacen('?', &format!("${}", self.args.len()), 1));
    }

    /// Appends `sql` with no value (an `ORDER BY`, a `LIMIT` of ours).
    pub(crate) fn push(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }

    /// `(?, ?, …)` for each of `args`, appended after `sql` (an `IN` list).
    pub(crate) fn in_list(&mut self, sql: &str, args: impl IntoIterator<Item = Arg>) {
        self.sql.push_str(sql);
        self.sql.push('(');
        for (k, a) in args.into_iter().enumerate() {
            if k > 0 {
                self.sql.push_str(", ");
            }
            self.args.push(a);
            self.sql.push_str(&format!("${}", self.args.len()));
        }
        self.sql.push(')');
    }

    /// The query, its values bound.
    pub(crate) fn query(self) -> Query<'static, Any, AnyArguments> {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(self.sql));
        for a in self.args {
            query = match a {
                Arg::Int(v) => query.bind(v),
                Arg::Text(v) => query.bind(v),
            };
        }
        query
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        let mut c = Conditions::new("SELECT x FROM t WHERE 1 = 1");
        c.and(" AND a = ?", Arg::Int(1));
        c.and(" AND (b >= ?", Arg::Int(2));
        c.and(" OR b IS ?)", Arg::Text("'; DROP".into()));
        c.in_list(" AND c IN ", [Arg::Int(4), Arg::Int(5)]);
        c.push(" ORDER BY x");
        assert_eq!(
            c.sql,
            "SELECT x FROM t WHERE 1 = 1 AND a = $1 AND (b >= $2 OR b IS $3) AND c IN ($4, $5) ORDER BY x"
        );
        assert_eq!(c.args.len(), 5);
    }
}

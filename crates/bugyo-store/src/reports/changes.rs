//! What a version of a report changed: each field's value before and after,
//! so that a correction is shown as what was said and what is said now,
//! never silently replaced.

use super::fields::FIELDS;
use serde_json::{Map, Value};

/// One field that differs between two versions.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FieldChange {
    /// The field's name.
    pub field: String,
    /// Its value before (`null`: not given).
    pub before: Value,
    /// Its value after (`null`: cleared).
    pub after: Value,
}

/// The fields that differ from `before` to `after` (JSON objects; a field
/// left out counts as `null`), in report field order, then any others by
/// name.
pub fn changes(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<FieldChange> {
    let mut names: Vec<&str> = FIELDS.to_vec();
    let mut others: Vec<&str> = before
        .keys()
        .chain(after.keys())
        .map(String::as_str)
        .filter(|k| !FIELDS.contains(k))
        .collect();
    others.sort_unstable();
    others.dedup();
    names.extend(others);
    names
        .into_iter()
        .filter_map(|name| {
            let b = before.get(name).cloned().unwrap_or(Value::Null);
            let a = after.get(name).cloned().unwrap_or(Value::Null);
            (a != b).then(|| FieldChange {
                field: name.to_string(),
                before: b,
                after: a,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn before_and_after_per_field() {
        let a = obj(json!({"stage": "first", "users_estimate": "about 30,000", "x": 1}));
        let b = obj(json!({"stage": "follow-up", "users": 120000, "x": 1}));
        let c = changes(&a, &b);
        let fields: Vec<&str> = c.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["stage", "users", "users_estimate"]);
        assert_eq!(c[1].before, Value::Null);
        assert_eq!(c[1].after, json!(120000));
        assert_eq!(c[2].after, Value::Null);
        assert!(changes(&a, &a).is_empty());
    }
}

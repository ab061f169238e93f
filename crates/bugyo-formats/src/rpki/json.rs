//! A lenient, borrowing JSON reader shared by the reference-data loaders
//! (RPKI JSON, the ARIN origin-AS dump, CAIDA AS2Org JSONL).
//!
//! Each array element of interest is read as a small [`J`] value that
//! accepts any JSON, so one odd element never fails the whole document: the
//! loader inspects it and skips it with its index if it is not what it
//! expects. Arrays are streamed element by element through a callback, so a
//! syntax error near the end of a file still leaves everything before it.
//! serde_json's recursion limit (128 levels) bounds the nesting depth.

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// Any JSON value; strings and keys borrow from the input when they have no
/// escapes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum J<'a> {
    Null,
    Bool(bool),
    U(u64),
    I(i64),
    F(f64),
    S(Cow<'a, str>),
    A(Vec<J<'a>>),
    O(Vec<(Cow<'a, str>, J<'a>)>),
}

impl<'a> J<'a> {
    /// The first value of `key` if `self` is an object.
    pub(crate) fn get(&self, key: &str) -> Option<&J<'a>> {
        match self {
            J::O(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The first of several alternative keys that is present.
    pub(crate) fn get_any(&self, keys: &[&str]) -> Option<&J<'a>> {
        keys.iter().find_map(|k| self.get(k))
    }

    /// The string, if `self` is one.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            J::S(s) => Some(s),
            _ => None,
        }
    }

    /// A name for the kind of value, for error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            J::Null => "null",
            J::Bool(_) => "a boolean",
            J::U(_) | J::I(_) | J::F(_) => "a number",
            J::S(_) => "a string",
            J::A(_) => "an array",
            J::O(_) => "an object",
        }
    }
}

struct JVisitor;

impl<'de> Visitor<'de> for JVisitor {
    type Value = J<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<J<'de>, E> {
        Ok(J::Bool(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<J<'de>, E> {
        Ok(J::U(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<J<'de>, E> {
        Ok(if v >= 0 {
            J::U(v.unsigned_abs())
        } else {
            J::I(v)
        })
    }
    fn visit_f64<E>(self, v: f64) -> Result<J<'de>, E> {
        Ok(J::F(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<J<'de>, E> {
        Ok(J::S(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<J<'de>, E> {
        Ok(J::S(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<J<'de>, E> {
        Ok(J::S(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<J<'de>, E> {
        Ok(J::Null)
    }
    fn visit_none<E>(self) -> Result<J<'de>, E> {
        Ok(J::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<J<'de>, A::Error> {
        let mut v = Vec::new();
        while let Some(e) = seq.next_element()? {
            v.push(e);
        }
        Ok(J::A(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<J<'de>, A::Error> {
        let mut v = Vec::with_capacity(6);
        while let Some(Key(k)) = map.next_key()? {
            let val = map.next_value()?;
            v.push((k, val));
        }
        Ok(J::O(v))
    }
}

impl<'de> de::Deserialize<'de> for J<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JVisitor)
    }
}

/// An object key, borrowed when possible.
struct Key<'a>(Cow<'a, str>);

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v)))
    }
}

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

/// The callback that receives each element of a wanted array: the path of
/// the array (object keys from the top), the element's index and the value.
pub(crate) type ElementFn<'x, 'de> = dyn FnMut(&[String], usize, J<'de>) + 'x;

/// Walks a JSON document; every array whose path `want` accepts is streamed
/// element by element to `cb`, everything else is skipped without being
/// kept. Returns the kind of the top-level value (`"object"`, `"array"`, ...)
/// or the syntax error that stopped the walk (elements before it have been
/// delivered).
pub(crate) fn walk_arrays<'de>(
    input: &'de [u8],
    want: &dyn Fn(&[String]) -> bool,
    cb: &mut ElementFn<'_, 'de>,
) -> Result<&'static str, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(input);
    let mut path = Vec::new();
    let kind = Walk {
        path: &mut path,
        want,
        cb,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(kind)
}

struct Walk<'x, 'c, 'de> {
    path: &'x mut Vec<String>,
    want: &'x dyn Fn(&[String]) -> bool,
    cb: &'x mut ElementFn<'c, 'de>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_, '_, 'de> {
    type Value = &'static str;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<&'static str, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_, '_, 'de> {
    type Value = &'static str;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<&'static str, E> {
        Ok("boolean")
    }
    fn visit_u64<E>(self, _: u64) -> Result<&'static str, E> {
        Ok("number")
    }
    fn visit_i64<E>(self, _: i64) -> Result<&'static str, E> {
        Ok("number")
    }
    fn visit_f64<E>(self, _: f64) -> Result<&'static str, E> {
        Ok("number")
    }
    fn visit_str<E>(self, _: &str) -> Result<&'static str, E> {
        Ok("string")
    }
    fn visit_unit<E>(self) -> Result<&'static str, E> {
        Ok("null")
    }
    fn visit_none<E>(self) -> Result<&'static str, E> {
        Ok("null")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<&'static str, A::Error> {
        if (self.want)(self.path) {
            let mut i = 0;
            while let Some(e) = seq.next_element::<J<'de>>()? {
                (self.cb)(self.path, i, e);
                i += 1;
            }
        } else {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
        }
        Ok("array")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<&'static str, A::Error> {
        let Walk { path, want, cb } = self;
        while let Some(Key(k)) = map.next_key()? {
            path.push(k.into_owned());
            map.next_value_seed(Walk {
                path: &mut *path,
                want,
                cb: &mut *cb,
            })?;
            path.pop();
        }
        Ok("object")
    }
}

/// Reads one whole JSON value (a JSONL line, say) as a [`J`].
pub(crate) fn parse_value(input: &[u8]) -> Result<J<'_>, serde_json::Error> {
    serde_json::from_slice(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_wanted_arrays_and_keeps_elements_before_an_error() {
        let doc =
            br#"{"meta":{"x":[1,2]},"a":[{"k":"v","n":-3},2,"s"],"b":{"c":[true,null]},"d":[1,"#;
        let mut got = Vec::new();
        let want = |p: &[String]| p == ["a"] || p == ["b", "c"] || p == ["d"];
        let r = walk_arrays(doc, &want, &mut |p, i, v| got.push((p.join("."), i, v)));
        assert!(r.is_err());
        assert_eq!(got.len(), 6);
        assert_eq!(got[0].2.get("k").and_then(J::as_str), Some("v"));
        assert_eq!(got[0].2.get("n"), Some(&J::I(-3)));
        assert_eq!(got[3].0, "b.c");
        assert_eq!(got[5], ("d".to_string(), 0, J::U(1)));
    }
}

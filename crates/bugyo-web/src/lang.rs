//! Japanese and English: which one a visitor reads, chosen by `?lang=`, then
//! the `lang` cookie (set by the language link), then the browser's
//! `Accept-Language`; Japanese when nothing says otherwise.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

/// A page's language.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    /// 日本語.
    #[default]
    Ja,
    /// English.
    En,
}

impl Lang {
    /// The language tag for `<html lang>`: `ja` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    /// The other language (for the switch link).
    pub fn other(self) -> Lang {
        match self {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        }
    }

    /// The language of a tag (`ja`, `en`, `en-US`, ...), if one of ours.
    pub fn from_code(s: &str) -> Option<Lang> {
        let s = s.trim().to_ascii_lowercase();
        if s == "ja" || s.starts_with("ja-") {
            Some(Lang::Ja)
        } else if s == "en" || s.starts_with("en-") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// `ja` in Japanese, `en` in English.
    pub fn pick<'a>(self, ja: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Ja => ja,
            Lang::En => en,
        }
    }

    /// The language a request asks for.
    pub fn of_request(query: Option<&str>, headers: &HeaderMap) -> Lang {
        if let Some(l) = query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter_map(|kv| kv.strip_prefix("lang="))
            .find_map(Lang::from_code)
        {
            return l;
        }
        if let Some(l) = cookie(headers, "lang").and_then(|v| Lang::from_code(&v)) {
            return l;
        }
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.split(',')
                    .find_map(|part| Lang::from_code(part.split(';').next().unwrap_or("")))
            })
            .unwrap_or_default()
    }
}

/// The value of cookie `name`, if sent.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Lang, Self::Rejection> {
        Ok(Lang::of_request(parts.uri.query(), &parts.headers))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn query_then_cookie_then_browser_then_japanese() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::of_request(None, &h), Lang::Ja);
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("fr, en-GB;q=0.8"),
        );
        assert_eq!(Lang::of_request(None, &h), Lang::En);
        h.insert(header::COOKIE, HeaderValue::from_static("a=b; lang=ja"));
        assert_eq!(Lang::of_request(None, &h), Lang::Ja);
        assert_eq!(Lang::of_request(Some("x=1&lang=en"), &h), Lang::En);
        assert_eq!(Lang::of_request(Some("lang=de"), &h), Lang::Ja);
    }
}

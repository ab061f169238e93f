//! The values operators write after a label, read into what the store
//! takes: times (`2021年10月9日 7時56分`, `2021-10-09 07:56`, RFC 5322;
//! JST without an offset) as RFC 3339, durations (`2時間57分`, `2h57m`) as
//! `2h57m`, numbers of users (`約3万`, `about 30,000`), yes/no marks
//! (`可`/`否`), service classes, stages and cause categories in Japanese or
//! English. Each reader returns `Err` with the problem in English and
//! Japanese; none panics.

/// A problem with a value: English, Japanese.
pub(super) type Trouble = (String, String);

/// Full-width ASCII (`２０２１`, `：`) and the ideographic space as their
/// ASCII forms.
pub(super) fn narrow(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

fn trouble(en: impl Into<String>, ja: impl Into<String>) -> Trouble {
    (en.into(), ja.into())
}

/// A cursor over the characters of a value.
struct Cursor {
    chars: Vec<char>,
    at: usize,
}

impl Cursor {
    fn new(s: &str) -> Cursor {
        Cursor {
            chars: s.chars().collect(),
            at: 0,
        }
    }
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }
    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(|c| c.is_whitespace() || c == ',') {
            self.at += 1;
        }
    }
    /// A run of ASCII digits (at most 9).
    fn number(&mut self) -> Option<(u32, usize)> {
        let start = self.at;
        let mut v: u32 = 0;
        while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
            if self.at - start >= 9 {
                return None;
            }
            v = v * 10 + d;
            self.at += 1;
        }
        (self.at > start).then_some((v, self.at - start))
    }
    fn eat(&mut self, s: &str) -> bool {
        let n = s.chars().count();
        let matches = self
            .chars
            .get(self.at..self.at + n)
            .is_some_and(|w| w.iter().copied().eq(s.chars()));
        if matches {
            self.at += n;
        }
        matches
    }
    fn eat_any(&mut self, options: &[&str]) -> bool {
        options.iter().any(|o| self.eat(o))
    }
    fn rest(&self) -> String {
        self.chars
            .get(self.at..)
            .unwrap_or_default()
            .iter()
            .collect()
    }
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// A calendar time with its offset from UTC in minutes.
struct Civil {
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    offset: i32,
}

impl Civil {
    fn check(&self) -> Result<String, Trouble> {
        if !(1900..=2999).contains(&self.year) {
            return Err(trouble(
                format!("year {} is out of range", self.year),
                format!("{}年は範囲外です", self.year),
            ));
        }
        if !(1..=12).contains(&self.month) {
            return Err(trouble(
                format!("there is no month {}", self.month),
                format!("{}月はありません", self.month),
            ));
        }
        if self.day == 0
            || self.day > bugyo_model::time::days_in_month(i64::from(self.year), self.month)
        {
            return Err(trouble(
                format!("there is no day {} in month {}", self.day, self.month),
                format!("{}月{}日はありません", self.month, self.day),
            ));
        }
        if self.hour > 23 || self.minute > 59 || self.second > 59 {
            return Err(trouble(
                format!(
                    "{}:{:02}:{:02} is not a time of day",
                    self.hour, self.minute, self.second
                ),
                format!(
                    "{}時{}分{}秒は時刻として不正です",
                    self.hour, self.minute, self.second
                ),
            ));
        }
        let sign = if self.offset < 0 { '-' } else { '+' };
        let off = self.offset.unsigned_abs();
        Ok(format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            off / 60,
            off % 60
        ))
    }
}

const TIME_HELP_EN: &str = "expected a time such as 2021年10月9日 7時56分 or 2021-10-09 07:56 (JST unless an offset is given)";
const TIME_HELP_JA: &str =
    "2021年10月9日 7時56分 や 2021-10-09 07:56 のように書いてください (時差がなければ日本時間)";

/// Reads a time of occurrence into RFC 3339: `2021年10月9日(土) 7時56分頃`,
/// `令和3年10月9日 7:56`, `2021-10-09 07:56`, `2021/10/09 07:56:00 +0900`,
/// `Sat, 9 Oct 2021 07:56:00 +0900`. Without an offset or zone the time
/// is JST.
pub(super) fn time(value: &str) -> Result<String, Trouble> {
    let v = narrow(value);
    let v = v.trim();
    let v = v.strip_prefix("約").unwrap_or(v).trim();
    let mut c = Cursor::new(v);
    let bad = || {
        trouble(
            format!("{value:?}: {TIME_HELP_EN}"),
            format!("{value:?}: {TIME_HELP_JA}"),
        )
    };
    let (year, month, day) = if c.eat("令和") {
        let n = if c.eat("元") {
            1
        } else {
            c.number().ok_or_else(bad)?.0
        };
        if !c.eat("年") {
            return Err(bad());
        }
        japanese_date(&mut c, 2018 + n).ok_or_else(bad)?
    } else if c.peek().is_some_and(|ch| ch.is_ascii_digit()) {
        let (first, len) = c.number().ok_or_else(bad)?;
        if len == 4 && c.eat("年") {
            japanese_date(&mut c, first).ok_or_else(bad)?
        } else if len == 4 && (c.eat("-") || c.eat("/")) {
            let sep = if c.chars.get(c.at - 1) == Some(&'-') {
                "-"
            } else {
                "/"
            };
            let m = c.number().ok_or_else(bad)?.0;
            if !c.eat(sep) {
                return Err(bad());
            }
            let d = c.number().ok_or_else(bad)?.0;
            (first, m, d)
        } else {
            // RFC 5322: 9 Oct 2021.
            c.skip_spaces();
            let m = month_name(&mut c).ok_or_else(bad)?;
            c.skip_spaces();
            let (y, ylen) = c.number().ok_or_else(bad)?;
            if ylen != 4 {
                return Err(bad());
            }
            (y, m, first)
        }
    } else {
        // RFC 5322 with a day name: Sat, 9 Oct 2021.
        while c.peek().is_some_and(|ch| ch.is_ascii_alphabetic()) {
            c.at += 1;
        }
        c.skip_spaces();
        let d = c.number().ok_or_else(bad)?.0;
        c.skip_spaces();
        let m = month_name(&mut c).ok_or_else(bad)?;
        c.skip_spaces();
        let (y, ylen) = c.number().ok_or_else(bad)?;
        if ylen != 4 {
            return Err(bad());
        }
        (y, m, d)
    };
    // A day of the week in brackets: (土), （土）, (Sat).
    c.skip_spaces();
    if c.eat("(") {
        while c.peek().is_some_and(|ch| ch != ')') {
            c.at += 1;
        }
        c.eat(")");
    }
    c.skip_spaces();
    c.eat("T");
    c.skip_spaces();
    let hour = c
        .number()
        .ok_or_else(|| {
            trouble(
                format!("{value:?}: no time of day; {TIME_HELP_EN}"),
                format!("{value:?}: 時刻がありません。{TIME_HELP_JA}"),
            )
        })?
        .0;
    let (minute, second) = if c.eat("時") {
        let m = match c.number() {
            Some((m, _)) if c.eat("分") => m,
            Some(_) => return Err(bad()),
            None => 0,
        };
        let s = match c.number() {
            Some((s, _)) if c.eat("秒") => s,
            Some(_) => return Err(bad()),
            None => 0,
        };
        (m, s)
    } else if c.eat(":") {
        let m = c.number().ok_or_else(bad)?.0;
        let s = if c.eat(":") {
            c.number().ok_or_else(bad)?.0
        } else {
            0
        };
        (m, s)
    } else {
        return Err(bad());
    };
    c.skip_spaces();
    c.eat_any(&["頃", "ごろ", "ころ"]);
    c.skip_spaces();
    let offset = zone(&c.rest()).ok_or_else(bad)?;
    Civil {
        year,
        month,
        day,
        hour,
        minute,
        second,
        offset,
    }
    .check()
    .map_err(|(en, ja)| (format!("{value:?}: {en}"), format!("{value:?}: {ja}")))
}

/// `10月9日` after the year.
fn japanese_date(c: &mut Cursor, year: u32) -> Option<(u32, u32, u32)> {
    c.skip_spaces();
    let m = c.number()?.0;
    if !c.eat("月") {
        return None;
    }
    c.skip_spaces();
    let d = c.number()?.0;
    c.eat("日").then_some((year, m, d))
}

fn month_name(c: &mut Cursor) -> Option<u32> {
    let word: String = c
        .chars
        .get(c.at..)?
        .iter()
        .take_while(|ch| ch.is_ascii_alphabetic())
        .collect();
    let lower = word.to_ascii_lowercase();
    let m = MONTHS
        .iter()
        .position(|m| lower.starts_with(m) && lower.len() >= 3)?;
    c.at += word.chars().count();
    u32::try_from(m + 1).ok()
}

/// The offset in minutes of what follows a time: nothing (JST), `Z`,
/// `+09:00`, `+0900`, `JST`, `UTC`, `GMT`, `UT`, the US zones of RFC 5322,
/// any of them in brackets.
fn zone(rest: &str) -> Option<i32> {
    let z = rest.trim();
    let z = z
        .strip_prefix('(')
        .and_then(|z| z.strip_suffix(')'))
        .unwrap_or(z)
        .trim();
    // RFC 5322 dates may end in a comment: +0900 (JST).
    let z = match z.split_once(' ') {
        Some((first, comment)) if comment.trim().starts_with('(') => first,
        _ => z,
    };
    Some(match z.to_ascii_uppercase().as_str() {
        "" | "JST" | "日本時間" => 540,
        "Z" | "UTC" | "GMT" | "UT" => 0,
        "EST" => -300,
        "EDT" => -240,
        "CST" => -360,
        "CDT" => -300,
        "MST" => -420,
        "MDT" => -360,
        "PST" => -480,
        "PDT" => -420,
        _ => {
            let (sign, digits) = match z.as_bytes().first()? {
                b'+' => (1, &z[1..]),
                b'-' => (-1, &z[1..]),
                _ => return None,
            };
            let digits: String = digits.chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let h: i32 = digits[..2].parse().ok()?;
            let m: i32 = digits[2..].parse().ok()?;
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 60 + m)
        }
    })
}

/// Reads a duration into `1d2h57m30s` form: `2時間57分`, `2h57m`,
/// `2h 57m`, `177分`, `2 hours 57 minutes`, `1日2時間`, `2:57`.
pub(super) fn duration(value: &str) -> Result<String, Trouble> {
    let v = narrow(value).to_lowercase();
    let v = v.trim();
    let v = v.strip_prefix("約").unwrap_or(v).trim();
    let v = v.strip_prefix("about").unwrap_or(v).trim();
    let bad = || {
        trouble(
            format!("{value:?}: expected a duration such as 2時間57分 or 2h57m"),
            format!("{value:?}: 2時間57分 や 2h57m のように継続時間を書いてください"),
        )
    };
    let mut c = Cursor::new(v);
    let mut secs: u64 = 0;
    let mut seen = false;
    if let Some((h, _)) = c.number() {
        if c.eat(":") {
            let (m, mlen) = c.number().ok_or_else(bad)?;
            c.skip_spaces();
            if mlen != 2 || m > 59 || !c.rest().is_empty() {
                return Err(bad());
            }
            return Ok(write_duration(u64::from(h) * 3600 + u64::from(m) * 60));
        }
        c.at = 0;
    }
    loop {
        c.skip_spaces();
        let Some((n, _)) = c.number() else { break };
        c.skip_spaces();
        let unit = if c.eat_any(&["日間", "日", "days", "day", "d"]) {
            86_400
        } else if c.eat_any(&["時間", "hours", "hour", "hrs", "hr", "h"]) {
            3_600
        } else if c.eat_any(&["分間", "分", "minutes", "minute", "mins", "min", "m"]) {
            60
        } else if c.eat_any(&["秒間", "秒", "seconds", "second", "secs", "sec", "s"]) {
            1
        } else {
            return Err(bad());
        };
        secs = secs.saturating_add(u64::from(n).saturating_mul(unit));
        seen = true;
    }
    c.skip_spaces();
    c.eat_any(&["程度", "ほど", "approx."]);
    c.skip_spaces();
    if !seen || !c.rest().is_empty() {
        return Err(bad());
    }
    if secs > 10 * 365 * 86_400 {
        return Err(trouble(
            format!("{value:?}: longer than ten years"),
            format!("{value:?}: 10年を超えています"),
        ));
    }
    Ok(write_duration(secs))
}

fn write_duration(mut secs: u64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

/// The number in an estimate, if one can be read: `約3万 (調査中)` →
/// 30000, `3万5千` → 35000, `1.2万人` → 12000, `about 30,000` → 30000,
/// `1.5 million` → 1500000, `120万` → 1200000. The first number counts.
pub(super) fn count(value: &str) -> Option<u64> {
    let v = narrow(value).to_lowercase();
    let chars: Vec<char> = v.chars().collect();
    let start = chars.iter().position(char::is_ascii_digit)?;
    let mut c = Cursor { chars, at: start };
    let mut total: u64 = 0;
    loop {
        // Digits with thousands commas, and a fraction.
        let mut whole: u64 = 0;
        let mut digits = 0;
        while let Some(ch) = c.peek() {
            if let Some(d) = ch.to_digit(10) {
                whole = whole.checked_mul(10)?.checked_add(u64::from(d))?;
                digits += 1;
                c.at += 1;
            } else if ch == ','
                && digits > 0
                && c.chars.get(c.at + 1).is_some_and(char::is_ascii_digit)
            {
                c.at += 1;
            } else {
                break;
            }
        }
        if digits == 0 {
            break;
        }
        let (mut frac, mut scale) = (0u64, 1u64);
        if c.peek() == Some('.') && c.chars.get(c.at + 1).is_some_and(char::is_ascii_digit) {
            c.at += 1;
            while let Some(d) = c.peek().and_then(|ch| ch.to_digit(10)) {
                if scale < 1_000_000 {
                    frac = frac * 10 + u64::from(d);
                    scale *= 10;
                }
                c.at += 1;
            }
        }
        while c.peek() == Some(' ') {
            c.at += 1;
        }
        let unit: u64 = if c.eat("億") {
            100_000_000
        } else if c.eat("万") {
            10_000
        } else if c.eat("千") {
            1_000
        } else if c.eat("百") {
            100
        } else if c.eat("million") {
            1_000_000
        } else if c.eat("thousand") || c.eat("k") {
            1_000
        } else {
            1
        };
        let n = whole
            .checked_mul(unit)?
            .checked_add(frac.checked_mul(unit)? / scale)?;
        total = total.checked_add(n)?;
        // 3万5千: go on after 億 and 万 when digits follow at once.
        if !(unit == 10_000 || unit == 100_000_000)
            || !c.peek().is_some_and(|ch| ch.is_ascii_digit())
        {
            break;
        }
    }
    Some(total)
}

/// A yes/no mark: `可`, `共有可`, `はい`, `yes`, `○` → true; `否`, `不可`,
/// `共有不可`, `いいえ`, `no`, `×` → false. Anything after a bracket or
/// space is a remark.
pub(super) fn flag(value: &str) -> Result<bool, Trouble> {
    let v = narrow(value).to_lowercase();
    let word = v
        .trim()
        .split(|c: char| c.is_whitespace() || matches!(c, '(' | '（' | '、' | '。' | ','))
        .next()
        .unwrap_or("");
    match word {
        "可" | "共有可" | "公表可" | "可能" | "はい" | "yes" | "y" | "true" | "ok" | "○" | "〇"
        | "有" => Ok(true),
        "否" | "不可" | "共有不可" | "公表不可" | "不可能" | "いいえ" | "no" | "n" | "false"
        | "×" | "無" => Ok(false),
        _ => Err(trouble(
            format!("{value:?}: expected 可 or 否 (yes or no)"),
            format!("{value:?}: 可 か 否 で書いてください"),
        )),
    }
}

/// The service class names of the store (`voice-emergency`, `voice`,
/// `lpwa`, `free-internet`, `other`, `critical-facility`), from those names
/// or the Japanese names of the classes in the rules.
pub(super) fn service_class(value: &str) -> Result<&'static str, Trouble> {
    let v: String = narrow(value)
        .to_lowercase()
        .chars()
        .filter(|c| {
            !c.is_whitespace() && !matches!(c, '(' | ')' | '（' | '）' | '・' | '「' | '」')
        })
        .collect();
    let class = match v.as_str() {
        "voice-emergency" | "voiceemergency" | "緊急通報を扱う音声伝送役務" => "voice-emergency",
        "voice" | "音声伝送役務" | "音声伝送役務緊急通報なし" | "緊急通報を扱わない音声伝送役務" => {
            "voice"
        }
        "lpwa" | "携帯電話lpwa" | "lpwa役務" => "lpwa",
        "free-internet" | "freeinternet" | "無料インターネット" | "無料のインターネット関連サービス" => {
            "free-internet"
        }
        "other" | "その他" | "その他の役務" | "その他の電気通信役務" => "other",
        "critical-facility" | "criticalfacility" | "重要設備" | "衛星" | "海底ケーブル" => {
            "critical-facility"
        }
        _ if v.contains("緊急通報あり") || v.contains("緊急通報を伴う") => "voice-emergency",
        _ if v.contains("緊急通報なし") || v.contains("緊急通報を伴わない") => "voice",
        _ if v.contains("lpwa") => "lpwa",
        _ if v.contains("料金を回収しない") || v.contains("無料") => "free-internet",
        _ if v.contains("衛星") || v.contains("海底ケーブル") => "critical-facility",
        _ => {
            return Err(trouble(
                format!(
                    "{value:?}: expected a service class (voice-emergency, voice, lpwa, free-internet, other, critical-facility, or its Japanese name)"
                ),
                format!(
                    "{value:?}: 役務区分 (音声伝送役務(緊急通報あり)、音声伝送役務、LPWA、無料インターネット、その他、衛星・海底ケーブル等) を書いてください"
                ),
            ))
        }
    };
    Ok(class)
}

/// The stage names of the store from `第一報`, `続報`, `最終報`,
/// `詳細報告` or the names themselves.
pub(super) fn stage(value: &str) -> Result<&'static str, Trouble> {
    let v = narrow(value).trim().to_lowercase();
    Ok(match v.as_str() {
        "第一報" | "第1報" | "一報" | "first" => "first",
        "続報" | "第二報" | "第2報" | "follow-up" | "followup" => "follow-up",
        "最終報" | "final" => "final",
        "詳細報告" | "detailed" => "detailed",
        _ => {
            return Err(trouble(
                format!("{value:?}: expected 第一報, 続報, 最終報 or 詳細報告 (first, follow-up, final, detailed)"),
                format!("{value:?}: 第一報、続報、最終報、詳細報告 のいずれかを書いてください"),
            ))
        }
    })
}

/// The cause categories of the store from `外的要因`, `設備要因`,
/// `人為要因`, `その他` or the names themselves.
pub(super) fn cause_category(value: &str) -> Result<&'static str, Trouble> {
    let v = narrow(value).trim().to_lowercase();
    Ok(match v.as_str() {
        "外的要因" | "外的" | "external" => "external",
        "設備要因" | "設備" | "equipment" => "equipment",
        "人為要因" | "人為" | "human" => "human",
        "その他" | "other" => "other",
        _ => {
            return Err(trouble(
                format!("{value:?}: expected 外的要因, 設備要因, 人為要因 or その他 (external, equipment, human, other)"),
                format!("{value:?}: 外的要因、設備要因、人為要因、その他 のいずれかを書いてください"),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        for (input, want) in [
            ("2021年10月9日 7時56分", "2021-10-09T07:56:00+09:00"),
            ("2021年10月9日(土) 7時56分頃", "2021-10-09T07:56:00+09:00"),
            (
                "２０２１年１０月９日　７時５６分",
                "2021-10-09T07:56:00+09:00",
            ),
            ("令和3年10月9日 7:56", "2021-10-09T07:56:00+09:00"),
            ("2021-10-09 07:56", "2021-10-09T07:56:00+09:00"),
            ("2021-10-09T07:56:30+09:00", "2021-10-09T07:56:30+09:00"),
            ("2021/10/09 07:56 UTC", "2021-10-09T07:56:00+00:00"),
            (
                "Sat, 9 Oct 2021 07:56:00 +0900",
                "2021-10-09T07:56:00+09:00",
            ),
            (
                "Sat, 09 Oct 2021 07:56:00 +0900 (JST)",
                "2021-10-09T07:56:00+09:00",
            ),
            ("9 Oct 2021 07:56 GMT", "2021-10-09T07:56:00+00:00"),
            ("2024-02-29 00:00", "2024-02-29T00:00:00+09:00"),
        ] {
            assert_eq!(time(input).as_deref(), Ok(want), "{input}");
        }
        for bad in [
            "",
            "昨日の朝",
            "2021年10月9日",
            "2021-13-01 00:00",
            "2021-02-29 00:00",
            "2021-10-09 25:00",
            "2021-10-09 07:56 Mars",
            "2021年10月32日 7時",
        ] {
            assert!(time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations() {
        for (input, want) in [
            ("2時間57分", "2h57m"),
            ("2h57m", "2h57m"),
            ("2h 57m", "2h57m"),
            ("177分", "2h57m"),
            ("2 hours 57 minutes", "2h57m"),
            ("約1日2時間", "1d2h"),
            ("2:57", "2h57m"),
            ("45秒", "45s"),
        ] {
            assert_eq!(duration(input).as_deref(), Ok(want), "{input}");
        }
        for bad in ["", "継続中", "2時間以上", "h", "2:5"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn counts() {
        for (input, want) in [
            ("約3万 (調査中)", Some(30_000)),
            ("3万5千", Some(35_000)),
            ("1.2万人", Some(12_000)),
            ("about 30,000 (under investigation)", Some(30_000)),
            ("1.5 million", Some(1_500_000)),
            ("120万", Some(1_200_000)),
            ("30000", Some(30_000)),
            ("調査中", None),
            ("99999999999999999999999", None),
        ] {
            assert_eq!(count(input), want, "{input}");
        }
    }

    #[test]
    fn flags_and_names() {
        assert_eq!(flag("可"), Ok(true));
        assert_eq!(flag("否"), Ok(false));
        assert_eq!(flag("不可（社内確認中）"), Ok(false));
        assert_eq!(flag("Yes"), Ok(true));
        assert!(flag("たぶん").is_err());
        assert_eq!(
            service_class("音声伝送役務(緊急通報あり)"),
            Ok("voice-emergency")
        );
        assert_eq!(service_class("音声伝送役務"), Ok("voice"));
        assert_eq!(service_class("voice"), Ok("voice"));
        assert_eq!(
            service_class("利用者から料金を回収しないインターネット関連サービス"),
            Ok("free-internet")
        );
        assert!(service_class("電報").is_err());
        assert_eq!(stage("続報"), Ok("follow-up"));
        assert_eq!(cause_category("設備要因"), Ok("equipment"));
    }
}

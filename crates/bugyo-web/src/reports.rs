//! Outage reports on the portal: the list the visitor may see, the form for
//! a first report, a report with its statutory classification and every
//! correction shown as before and after, and the form for a follow-up, the
//! final or the detailed report or a correction.
//!
//! Forms are checked on the server by the store's own rules
//! ([`Report::from_json`]), field by field, so every message stands next to
//! its field, and the form comes back with what was typed. Nothing is
//! stored until every field is right; then filing goes through the same
//! function as the API (`bugyo_api::reports::file_for`, `amend_for`), with
//! the same permissions and audit.

use crate::lang::Lang;
use crate::layout::{page, time, tlp};
use crate::session::{SameOrigin, Signed};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use bugyo_api::error::ApiError;
use bugyo_api::{ApiState, Caller};
use bugyo_model::Timestamp;
use bugyo_store::reports::view::tlp as report_tlp;
use bugyo_store::reports::{fields, Access, Report, ReportFilter, Stage};
use bugyo_store::{Role, StoreError};
use maud::{html, Markup};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// How a field is typed in.
#[derive(Clone, Copy)]
enum Input {
    /// One line of text.
    Line,
    /// Free text.
    Text,
    /// A whole number (commas allowed).
    Count,
    /// A check box.
    Flag,
    /// One of the choices.
    Choice(fn() -> Vec<Choice>),
    /// A time, JST unless an offset is given.
    Time,
    /// Incident ids, separated by commas.
    Ids,
}

/// One field of the report form: its name in the store, its labels and a
/// hint, both languages.
struct FormField {
    name: &'static str,
    input: Input,
    ja: &'static str,
    en: &'static str,
    hint_ja: &'static str,
    hint_en: &'static str,
}

/// One choice of a list: its value, Japanese and English labels.
type Choice = (String, String, String);

fn stage_choices() -> Vec<Choice> {
    Stage::ALL
        .iter()
        .map(|s| {
            let en = match s {
                Stage::First => "first report",
                Stage::FollowUp => "follow-up",
                Stage::Final => "final report",
                Stage::Detailed => "detailed report (within 30 days)",
            };
            (s.name().into(), s.ja().into(), en.into())
        })
        .collect()
}

/// The service classes in the ordinance's words, from the rules file.
fn service_class_choices() -> Vec<Choice> {
    let rules = bugyo_report::Rules::embedded().ok();
    bugyo_report::ServiceClass::ALL
        .iter()
        .map(|c| match &rules {
            Some(r) => {
                let rule = r.major(*c);
                (c.as_str().into(), rule.name.clone(), rule.name_en.clone())
            }
            None => (c.as_str().into(), c.as_str().into(), c.as_str().into()),
        })
        .collect()
}

fn cause_choices() -> Vec<Choice> {
    bugyo_store::reports::CauseCategory::ALL
        .iter()
        .map(|c| (c.name().into(), c.ja().into(), c.name().into()))
        .collect()
}

/// The form's fields, in the order of the regulator's items.
const FORM: &[FormField] = &[
    FormField {
        name: "stage",
        input: Input::Choice(stage_choices),
        ja: "報告の段階",
        en: "Stage",
        hint_ja: "",
        hint_en: "",
    },
    FormField {
        name: "occurred_at",
        input: Input::Time,
        ja: "発生日時(日本時間)",
        en: "Occurred at (JST)",
        hint_ja: "必須。分かる範囲で。",
        hint_en: "Required. As far as known.",
    },
    FormField {
        name: "area",
        input: Input::Line,
        ja: "発生場所・地域",
        en: "Place / area",
        hint_ja: "",
        hint_en: "",
    },
    FormField {
        name: "services",
        input: Input::Line,
        ja: "影響を受けたサービス",
        en: "Services affected",
        hint_ja: "",
        hint_en: "",
    },
    FormField {
        name: "service_class",
        input: Input::Choice(service_class_choices),
        ja: "役務の区分(重大事故の判定)",
        en: "Service class (major-accident rule)",
        hint_ja: "",
        hint_en: "",
    },
    FormField {
        name: "situation",
        input: Input::Text,
        ja: "状況",
        en: "Situation",
        hint_ja: "必須。詳細が分からなくても構いません。",
        hint_en: "Required. However little is known.",
    },
    FormField {
        name: "users",
        input: Input::Count,
        ja: "影響利用者数",
        en: "Users affected",
        hint_ja: "数値(分かる場合)",
        hint_en: "A number, if known",
    },
    FormField {
        name: "users_estimate",
        input: Input::Line,
        ja: "影響利用者数(概数・状況)",
        en: "Users affected (as you can say it now)",
        hint_ja: "例: 約3万(調査中)",
        hint_en: "e.g. about 30,000 (under investigation)",
    },
    FormField {
        name: "duration",
        input: Input::Line,
        ja: "継続時間",
        en: "Duration",
        hint_ja: "例: 2h30m(継続中なら空欄)",
        hint_en: "e.g. 2h30m (empty while it goes on)",
    },
    FormField {
        name: "complaints",
        input: Input::Count,
        ja: "苦情・問合せ件数",
        en: "Complaints and enquiries",
        hint_ja: "",
        hint_en: "",
    },
    FormField {
        name: "response",
        input: Input::Text,
        ja: "これまでの対応",
        en: "Response so far",
        hint_ja: "",
        hint_en: "",
    },
    FormField {
        name: "impact_other_operators",
        input: Input::Text,
        ja: "他事業者への影響の可能性",
        en: "Possible impact on other operators",
        hint_ja: "",
        hint_en: "",
    },
    FormField {
        name: "impact_enterprise",
        input: Input::Text,
        ja: "法人顧客への影響の可能性(非公開)",
        en: "Possible impact on enterprise customers (not shared)",
        hint_ja: "",
        hint_en: "",
    },
    FormField {
        name: "cause",
        input: Input::Text,
        ja: "原因",
        en: "Cause",
        hint_ja: "",
        hint_en: "",
    },
    FormField {
        name: "cause_category",
        input: Input::Choice(cause_choices),
        ja: "原因の区分",
        en: "Cause category",
        hint_ja: "詳細報告では必須",
        hint_en: "Required in the detailed report",
    },
    FormField {
        name: "failed_equipment",
        input: Input::Line,
        ja: "故障設備",
        en: "Failed equipment",
        hint_ja: "",
        hint_en: "",
    },
    FormField {
        name: "measures",
        input: Input::Text,
        ja: "措置",
        en: "Measures taken",
        hint_ja: "",
        hint_en: "",
    },
    FormField {
        name: "recurrence_prevention",
        input: Input::Text,
        ja: "再発防止策",
        en: "Recurrence prevention",
        hint_ja: "",
        hint_en: "",
    },
    FormField {
        name: "user_communication",
        input: Input::Text,
        ja: "利用者への周知",
        en: "How users were told",
        hint_ja: "",
        hint_en: "",
    },
    FormField {
        name: "public_summary_ja",
        input: Input::Text,
        ja: "公表文(日本語)",
        en: "Public text (Japanese)",
        hint_ja: "公開状況ページに載せる文",
        hint_en: "Shown on the public status page",
    },
    FormField {
        name: "public_summary_en",
        input: Input::Text,
        ja: "公表文(英語)",
        en: "Public text (English)",
        hint_ja: "公開状況ページに載せる文",
        hint_en: "Shown on the public status page",
    },
    FormField {
        name: "contact",
        input: Input::Line,
        ja: "連絡先担当者(非公開)",
        en: "Contact person (not shared)",
        hint_ja: "",
        hint_en: "",
    },
    FormField {
        name: "share_public",
        input: Input::Flag,
        ja: "公表・国民生活センター等への共有可",
        en: "May be shared with the public (consumer centre)",
        hint_ja: "",
        hint_en: "",
    },
    FormField {
        name: "share_operators",
        input: Input::Flag,
        ja: "他の事業者への共有可",
        en: "May be shared with other operators",
        hint_ja: "",
        hint_en: "",
    },
    FormField {
        name: "incidents",
        input: Input::Ids,
        ja: "関連する検知インシデント",
        en: "Linked detected incidents",
        hint_ja: "ID をカンマ区切りで",
        hint_en: "Ids, separated by commas",
    },
];

/// The fields the store knows (a field added to the form before the store
/// has it is left out).
fn form_fields() -> impl Iterator<Item = &'static FormField> {
    FORM.iter().filter(|f| fields::FIELDS.contains(&f.name))
}

fn label(lang: Lang, name: &str) -> String {
    FORM.iter()
        .find(|f| f.name == name)
        .map_or_else(|| name.to_string(), |f| lang.pick(f.ja, f.en).to_string())
}

/// What was typed, by field name.
type Typed = BTreeMap<String, String>;
/// Messages by field name.
type Errors = BTreeMap<String, String>;

/// A typed value as the store's JSON: empty is `null`; what cannot be
/// converted is passed on as text for the store to name the error.
fn to_json(f: &FormField, raw: Option<&str>) -> Value {
    let raw = raw.unwrap_or("").trim();
    match f.input {
        Input::Flag => Value::Bool(matches!(raw, "on" | "true" | "1")),
        _ if raw.is_empty() => Value::Null,
        Input::Count => {
            let digits: String = raw
                .chars()
                .filter(|c| !matches!(c, ',' | '_' | ' '))
                .collect();
            digits
                .parse::<u64>()
                .map_or_else(|_| Value::String(raw.into()), Value::from)
        }
        Input::Time => {
            // datetime-local gives 2026-11-23T10:15: JST.
            let t = if raw.len() == 16 && raw.as_bytes().get(10) == Some(&b'T') {
                format!("{raw}:00+09:00")
            } else if raw.len() == 19 && raw.as_bytes().get(10) == Some(&b'T') {
                format!("{raw}+09:00")
            } else {
                raw.to_string()
            };
            Value::String(t)
        }
        Input::Ids => {
            let ids: Option<Vec<Value>> = raw
                .split([',', ' ', '、'])
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.trim_start_matches('#')
                        .parse::<i64>()
                        .ok()
                        .map(Value::from)
                })
                .collect();
            ids.map_or_else(|| Value::String(raw.into()), Value::Array)
        }
        _ => Value::String(raw.into()),
    }
}

/// A stored value as it is typed back into the form.
fn to_typed(f: &FormField, v: &Value) -> String {
    match (f.input, v) {
        (_, Value::Null) => String::new(),
        (Input::Flag, Value::Bool(b)) => {
            if *b {
                "on".into()
            } else {
                String::new()
            }
        }
        (Input::Time, Value::String(s)) => bugyo_report::calendar::parse_time(s)
            .map(|t| bugyo_report::calendar::jst_rfc3339(t)[..16].to_string())
            .unwrap_or_else(|_| s.clone()),
        (Input::Ids, Value::Array(a)) => a
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        (_, Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}

/// The store's message for `field` at fault, if it is.
fn store_error(e: &StoreError) -> Option<(&'static str, String)> {
    match e {
        StoreError::Invalid { field, message } => Some((field, message.clone())),
        _ => None,
    }
}

/// Checks every field of `map` (a whole report) on its own, then the whole:
/// all messages at once, each by its field.
fn check(map: &Map<String, Value>, now: Timestamp) -> Errors {
    let mut errors = Errors::new();
    let mut base = Map::new();
    base.insert("stage".into(), "first".into());
    base.insert("occurred_at".into(), "2000-01-01T00:00:00Z".into());
    base.insert("situation".into(), "-".into());
    for f in form_fields() {
        let mut one = base.clone();
        one.insert(
            f.name.into(),
            map.get(f.name).cloned().unwrap_or(Value::Null),
        );
        if let Err(e) = Report::from_json(&one, now) {
            if let Some((field, msg)) = store_error(&e) {
                if field == f.name {
                    errors.insert(field.into(), msg);
                }
            }
        }
    }
    if errors.is_empty() {
        if let Err(e) = Report::from_json(map, now) {
            let (field, msg) = store_error(&e).unwrap_or(("body", e.to_string()));
            errors.insert(field.into(), msg);
        }
    }
    errors
}

/// The form's values as a report's JSON (the fields the store knows).
fn typed_to_map(typed: &Typed) -> Map<String, Value> {
    form_fields()
        .map(|f| {
            (
                f.name.to_string(),
                to_json(f, typed.get(f.name).map(String::as_str)),
            )
        })
        .collect()
}

fn now() -> Timestamp {
    Timestamp::from_micros(crate::now_micros())
}

/// The report form, with `typed` values and `errors` next to their fields.
fn form(lang: Lang, action: &str, typed: &Typed, errors: &Errors, amend: bool) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.notice role="alert" #form-errors {
                p { (lang.pick("入力に誤りがあります。各項目のメッセージを確認してください。何も保存されていません。",
                    "Some fields need correcting; see the messages by each field. Nothing was stored.")) }
                ul { @for (f, m) in errors { li { a href={ "#" (f) } { (label(lang, f)) } ": " (m) } } }
            }
        }
        form method="post" action=(action) novalidate {
            @for f in form_fields() {
                @if amend || f.name != "stage" {
                    (field(lang, f, typed.get(f.name).map(String::as_str).unwrap_or(""), errors.get(f.name)))
                }
            }
            @if amend {
                (field(lang, &FormField { name: "reason", input: Input::Line, ja: "訂正・追加の理由", en: "Reason for the change",
                    hint_ja: "例: 影響利用者数の精査による訂正", hint_en: "e.g. user count corrected after investigation" },
                    typed.get("reason").map(String::as_str).unwrap_or(""), errors.get("reason")))
            }
            button type="submit" { (if amend { lang.pick("提出する", "Submit") } else { lang.pick("第一報を提出", "File the first report") }) }
        }
    }
}

fn field(lang: Lang, f: &FormField, value: &str, error: Option<&String>) -> Markup {
    let hint = lang.pick(f.hint_ja, f.hint_en);
    let err_id = format!("{}-error", f.name);
    let described = error.map(|_| err_id.clone());
    html! {
        div class={ "field" @if error.is_some() { " invalid" } } {
            @match f.input {
                Input::Flag => {
                    label {
                        input type="checkbox" id=(f.name) name=(f.name) checked[value == "on"] aria-describedby=[described.clone()];
                        " " (lang.pick(f.ja, f.en))
                    }
                }
                _ => { label for=(f.name) { (lang.pick(f.ja, f.en)) } }
            }
            @if !hint.is_empty() { span.hint { (hint) } }
            @match f.input {
                Input::Text => {
                    textarea id=(f.name) name=(f.name) aria-invalid=[error.map(|_| "true")] aria-describedby=[described.clone()] { (value) }
                }
                Input::Choice(choices) => {
                    @let choices = choices();
                    select id=(f.name) name=(f.name) aria-invalid=[error.map(|_| "true")] aria-describedby=[described.clone()] {
                        @if f.name != "stage" { option value="" { "—" } }
                        @for (v, ja, en) in &choices {
                            option value=(v) selected[v == value] { (lang.pick(ja, en)) }
                        }
                        @if !value.is_empty() && !choices.iter().any(|c| c.0 == value) {
                            option value=(value) selected { (value) }
                        }
                    }
                }
                Input::Time => {
                    input type="datetime-local" id=(f.name) name=(f.name) value=(value) aria-invalid=[error.map(|_| "true")] aria-describedby=[described.clone()];
                }
                Input::Count => {
                    input type="text" inputmode="numeric" id=(f.name) name=(f.name) value=(value) aria-invalid=[error.map(|_| "true")] aria-describedby=[described.clone()];
                }
                Input::Flag => {}
                Input::Line | Input::Ids => {
                    input type="text" id=(f.name) name=(f.name) value=(value) aria-invalid=[error.map(|_| "true")] aria-describedby=[described.clone()];
                }
            }
            @if let Some(e) = error { p.error id=(err_id) { (e) } }
        }
    }
}

fn is_reporter_role(c: &Caller) -> bool {
    matches!(c.token.role, Role::Member | Role::Admin)
}

/// `GET /reports/new`.
pub async fn new_form(lang: Lang, Signed(c): Signed) -> Response {
    if !is_reporter_role(&c) {
        return crate::error_page(lang, Some(&c), &ApiError::forbidden());
    }
    let mut typed = Typed::new();
    typed.insert("stage".into(), "first".into());
    typed.insert(
        "occurred_at".into(),
        bugyo_report::calendar::jst_rfc3339(now())[..16].to_string(),
    );
    page(
        lang,
        lang.pick("第一報の提出", "File a first report"),
        Some(&c),
        html! {
            p { (lang.pick("第一報は速さが大切です。分かっていることだけで提出し、続報で補ってください。",
                "Speed matters more than detail: file what you know now and add follow-ups.")) }
            (form(lang, "/reports/new", &typed, &Errors::new(), false))
        },
    )
    .into_response()
}

/// `POST /reports/new`.
pub async fn file(
    State(state): State<ApiState>,
    lang: Lang,
    Signed(c): Signed,
    _: SameOrigin,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let typed: Typed = pairs.into_iter().collect();
    let mut map = typed_to_map(&typed);
    map.insert("stage".into(), "first".into());
    let errors = check(&map, now());
    let retry = |errors: Errors| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            page(
                lang,
                lang.pick("第一報の提出", "File a first report"),
                Some(&c),
                form(lang, "/reports/new", &typed, &errors, false),
            ),
        )
            .into_response()
    };
    if !errors.is_empty() {
        return retry(errors);
    }
    match bugyo_api::reports::file_for(&state, &c, None, &map).await {
        Ok(r) => Redirect::to(&format!("/reports/{}", r.id)).into_response(),
        Err(e) if e.field().is_some() => retry(Errors::from([(
            e.field().unwrap_or("body").to_string(),
            e.message().to_string(),
        )])),
        Err(e) => crate::error_page(lang, Some(&c), &e),
    }
}

/// `GET /reports/{id}/amend`: the form filled with the current state.
pub async fn amend_form(
    State(state): State<ApiState>,
    lang: Lang,
    Signed(c): Signed,
    Path(id): Path<String>,
) -> Response {
    let r = async {
        let id = crate::path_id(&id, "id")?;
        let (report, versions, access) = bugyo_api::reports::readable(&state, &c, id).await?;
        if !(c.token.role == Role::Admin || access == Access::Reporter) {
            return Err(ApiError::forbidden());
        }
        let body = versions.last().map(|v| v.body.clone()).unwrap_or_default();
        let mut typed: Typed = form_fields()
            .map(|f| {
                (
                    f.name.to_string(),
                    to_typed(f, body.get(f.name).unwrap_or(&Value::Null)),
                )
            })
            .collect();
        if report.stage == Stage::First {
            typed.insert("stage".into(), Stage::FollowUp.name().into());
        }
        Ok(amend_page(lang, &c, report.id, &typed, &Errors::new()))
    }
    .await;
    r.unwrap_or_else(|e| crate::error_page(lang, Some(&c), &e))
}

fn amend_page(lang: Lang, c: &Caller, id: i64, typed: &Typed, errors: &Errors) -> Response {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (
        status,
        page(
            lang,
            &format!("{} #{id}", lang.pick("続報・訂正", "Follow-up or correction")),
            Some(c),
            html! {
                p { (lang.pick("変更した項目だけが新しい版として記録され、以前の内容も履歴に残ります。",
                    "Only the fields you change make the new version; what was said before stays in the history.")) }
                (form(lang, &format!("/reports/{id}/amend"), typed, errors, true))
            },
        ),
    )
        .into_response()
}

/// `POST /reports/{id}/amend`: the fields that differ from the current
/// state become the new version.
pub async fn amend(
    State(state): State<ApiState>,
    lang: Lang,
    Signed(c): Signed,
    _: SameOrigin,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let typed: Typed = pairs.into_iter().collect();
    let r = async {
        let id = crate::path_id(&id, "id")?;
        let (_, versions, _) = bugyo_api::reports::readable(&state, &c, id).await?;
        let current = versions.last().map(|v| v.body.clone()).unwrap_or_default();
        let wanted = typed_to_map(&typed);
        let patch: Map<String, Value> = wanted
            .iter()
            .filter(|(k, v)| current.get(k.as_str()).unwrap_or(&Value::Null) != *v)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut merged = current.clone();
        merged.extend(patch.clone());
        let mut errors = check(&merged, now());
        let reason = typed
            .get("reason")
            .map(|s| s.trim())
            .filter(|s| !s.is_empty());
        if errors.is_empty() && patch.is_empty() {
            errors.insert(
                "body".into(),
                lang.pick("変更がありません。", "Nothing changed.").into(),
            );
        }
        if !errors.is_empty() {
            return Ok(amend_page(lang, &c, id, &typed, &errors));
        }
        match bugyo_api::reports::amend_for(&state, &c, id, &patch, reason).await {
            Ok(_) => Ok(Redirect::to(&format!("/reports/{id}")).into_response()),
            Err(e) if e.field().is_some() => Ok(amend_page(
                lang,
                &c,
                id,
                &typed,
                &Errors::from([(
                    e.field().unwrap_or("body").to_string(),
                    e.message().to_string(),
                )]),
            )),
            Err(e) => Err(e),
        }
    }
    .await;
    r.unwrap_or_else(|e| crate::error_page(lang, Some(&c), &e))
}

/// A classification in words.
fn classification(lang: Lang, c: &str) -> &str {
    match c {
        "major" => lang.pick("重大な事故", "major accident"),
        "quarterly" => lang.pick("四半期報告の対象", "quarterly-report accident"),
        "none" => lang.pick("報告対象外", "not reportable"),
        "pending" => lang.pick(
            "未判定(役務区分・利用者数・継続時間が必要)",
            "pending (service class, users and duration needed)",
        ),
        other => other,
    }
}

fn stage_name(lang: Lang, s: Stage) -> &'static str {
    match lang {
        Lang::Ja => s.ja(),
        Lang::En => s.name(),
    }
}

/// `GET /reports`: what the visitor may see, newest first.
pub async fn list(State(state): State<ApiState>, lang: Lang, Signed(c): Signed) -> Response {
    let r = async {
        let mut f = ReportFilter::default();
        if c.token.role == Role::Member {
            f.visible_to_org = Some(c.token.org_id.ok_or_else(ApiError::forbidden)?);
        }
        let mut items = state.store.reports(&f).await?;
        let unshared: Vec<String> = items
            .iter()
            .filter(|r| c.token.role != Role::Member && !r.sharing.operators)
            .map(|r| r.id.to_string())
            .collect();
        if !unshared.is_empty() {
            c.audit_with(&state, "read-report", "reports".into(), unshared.join(",")).await?;
        }
        items.reverse();
        Ok::<_, ApiError>(page(
            lang,
            lang.pick("障害報告", "Outage reports"),
            Some(&c),
            html! {
                @if is_reporter_role(&c) { p { a href="/reports/new" { (lang.pick("第一報を提出する", "File a first report")) } } }
                @if items.is_empty() { p { (lang.pick("表示できる報告はありません。", "No reports to show.")) } }
                @else {
                    table #reports {
                        thead { tr {
                            th { "#" } th { (lang.pick("事業者", "Operator")) } th { (lang.pick("段階", "Stage")) }
                            th { (lang.pick("発生", "Occurred")) } th { (lang.pick("状況", "Situation")) }
                            th { (lang.pick("法令上の区分", "Statutory class")) } th { "TLP" }
                        } }
                        tbody { @for r in &items {
                            tr {
                                td { a href={ "/reports/" (r.id) } { (r.id) } }
                                td { (r.org) }
                                td { (stage_name(lang, r.stage)) }
                                td { (time(r.occurred_at)) }
                                td { (r.situation) }
                                td { (classification(lang, &r.classification)) }
                                td { (tlp(report_tlp(r.sharing).label())) }
                            }
                        } }
                    }
                }
            },
        )
        .into_response())
    }
    .await;
    r.unwrap_or_else(|e| crate::error_page(lang, Some(&c), &e))
}

/// A field's value in words.
fn shown(lang: Lang, name: &str, v: &Value) -> String {
    match (name, v) {
        (_, Value::Null) => "—".into(),
        (_, Value::Bool(b)) => lang
            .pick(
                if *b { "はい" } else { "いいえ" },
                if *b { "yes" } else { "no" },
            )
            .into(),
        ("occurred_at", Value::String(s)) => bugyo_report::calendar::parse_time(s)
            .map(|t| {
                let j = bugyo_report::calendar::jst_rfc3339(t);
                format!("{} {} JST", &j[..10], &j[11..16])
            })
            .unwrap_or_else(|_| s.clone()),
        ("service_class" | "cause_category", Value::String(s)) => FORM
            .iter()
            .find(|f| f.name == name)
            .and_then(|f| match f.input {
                Input::Choice(choices) => choices().into_iter().find(|c| c.0 == *s),
                _ => None,
            })
            .map_or_else(|| s.clone(), |c| lang.pick(&c.1, &c.2).to_string()),
        ("stage", Value::String(s)) => {
            Stage::parse(s).map_or_else(|| s.clone(), |st| stage_name(lang, st).into())
        }
        (_, Value::String(s)) => s.clone(),
        (_, Value::Array(a)) => a
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        (_, other) => other.to_string(),
    }
}

/// `GET /reports/{id}`: the report, its statutory classification and
/// deadlines, and every version's changes as before and after.
pub async fn report(
    State(state): State<ApiState>,
    lang: Lang,
    Signed(c): Signed,
    Path(id): Path<String>,
) -> Response {
    let r = async {
        let id = crate::path_id(&id, "id")?;
        let (report, versions, access) =
            bugyo_api::reports::read_audited(&state, &c, id, "/history").await?;
        let latest = versions.last().ok_or_else(|| ApiError::not_found("report"))?;
        let body = access.redact(&latest.body);
        let statutory = latest.classification.clone().unwrap_or(Value::Null);
        let can_amend = c.token.role == Role::Admin || access == Access::Reporter;
        Ok::<_, ApiError>(page(
            lang,
            &format!("{} #{id} — {}", lang.pick("障害報告", "Outage report"), report.org),
            Some(&c),
            html! {
                p { (tlp(report_tlp(report.sharing).label())) " " (stage_name(lang, report.stage)) ", "
                    (lang.pick("第", "version ")) (report.version) (lang.pick("版", "")) }
                @if can_amend { p { a href={ "/reports/" (id) "/amend" } { (lang.pick("続報・訂正を提出する", "File a follow-up or correction")) } } }
                h2 { (lang.pick("法令上の区分と期限", "Statutory classification and deadlines")) }
                table #statutory {
                    tr { th { (lang.pick("区分", "Classification")) } td #classification { (classification(lang, &report.classification)) } }
                    tr { th { (lang.pick("四半期", "Quarter")) } td { (report.quarter) } }
                    @if let Some(d) = &report.detailed_report_due {
                        tr { th { (lang.pick("詳細報告の期限", "Detailed report due")) } td #detailed-due { (d) } }
                    }
                    @if let Some(q) = statutory.get("quarterly_report_due").and_then(Value::as_str) {
                        tr { th { (lang.pick("四半期報告の期限", "Quarterly report due")) } td { (q) } }
                    }
                    @if let Some(rule) = statutory.get("rule").filter(|r| r.is_object()) {
                        tr { th { (lang.pick("該当した基準", "Rule met")) } td #rule {
                            (rule[lang.pick("condition_ja", "condition")].as_str().unwrap_or(""))
                            br; small { (rule["source"][lang.pick("law", "law_en")].as_str().unwrap_or("")) }
                        } }
                    }
                    @if statutory.get("prompt_report_required").and_then(Value::as_bool) == Some(true) {
                        tr { th { (lang.pick("速やかな報告", "Prompt report")) } td { (lang.pick("必要(重大な事故)", "required (major accident)")) } }
                    }
                }
                h2 { (lang.pick("現在の内容", "Current content")) }
                table #content {
                    @for f in form_fields() {
                        @if access.sees_field(f.name) {
                            tr { th { (lang.pick(f.ja, f.en)) } td data-field=(f.name) { (shown(lang, f.name, body.get(f.name).unwrap_or(&Value::Null))) } }
                        }
                    }
                }
                h2 { (lang.pick("履歴(訂正は訂正前と訂正後を表示)", "History (corrections shown as before and after)")) }
                @for v in versions.iter().rev() {
                    section.version id={ "v" (v.version) } {
                        h3 { (lang.pick("第", "Version ")) (v.version) (lang.pick("版", "")) " — " (stage_name(lang, v.stage)) " — " (time(v.recorded_at)) }
                        @if let Some(r) = &v.reason { p { (lang.pick("理由: ", "Reason: ")) (r) } }
                        table.changes {
                            thead { tr { th { (lang.pick("項目", "Field")) } th { (lang.pick("訂正前", "Before")) } th { (lang.pick("訂正後", "After")) } } }
                            tbody { @for ch in v.changes.iter().filter(|ch| access.sees_field(&ch.field)) {
                                tr data-field=(ch.field) {
                                    td { (label(lang, &ch.field)) }
                                    td.before { (shown(lang, &ch.field, &ch.before)) }
                                    td.after { (shown(lang, &ch.field, &ch.after)) }
                                }
                            } }
                        }
                    }
                }
            },
        )
        .into_response())
    }
    .await;
    r.unwrap_or_else(|e| crate::error_page(lang, Some(&c), &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(pairs: &[(&str, &str)]) -> Typed {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_field_of_the_store_has_its_place_in_the_form() {
        let stages: Vec<String> = stage_choices().into_iter().map(|c| c.0).collect();
        assert_eq!(stages, ["first", "follow-up", "final", "detailed"]);
        assert!(
            service_class_choices()
                .iter()
                .all(|c| c.1 != c.0 && !c.2.is_empty()),
            "labels from the rules file"
        );
        for f in fields::FIELDS {
            assert!(
                FORM.iter().any(|x| x.name == *f),
                "{f} has no place in the form"
            );
        }
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let t = typed(&[
            ("occurred_at", "yesterday"),
            ("situation", ""),
            ("users", "about 30000"),
            ("duration", "long"),
            ("incidents", "3, x"),
        ]);
        let mut map = typed_to_map(&t);
        map.insert("stage".into(), "first".into());
        let e = check(&map, now());
        for f in ["occurred_at", "situation", "users", "duration", "incidents"] {
            assert!(e.contains_key(f), "{f} not named: {e:?}");
        }
        assert_eq!(e.len(), 5, "{e:?}");
    }

    #[test]
    fn typed_values_become_the_stores_json() {
        let t = typed(&[
            ("occurred_at", "2021-10-07T22:41"),
            ("situation", "x"),
            ("users", "120,000"),
            ("share_operators", "on"),
            ("incidents", "3, #5"),
        ]);
        let mut map = typed_to_map(&t);
        map.insert("stage".into(), "first".into());
        assert!(check(&map, now()).is_empty());
        assert_eq!(map["occurred_at"], "2021-10-07T22:41:00+09:00");
        assert_eq!(map["users"], 120_000);
        assert_eq!(map["share_operators"], true);
        assert_eq!(map["share_public"], false);
        assert_eq!(map["incidents"], serde_json::json!([3, 5]));
        let f = FORM.iter().find(|f| f.name == "occurred_at").unwrap();
        assert_eq!(to_typed(f, &map["occurred_at"]), "2021-10-07T22:41");
    }

    #[test]
    fn the_form_keeps_what_was_typed_and_shows_messages_by_their_fields() {
        let t = typed(&[("situation", "<b>光回線が不通</b>"), ("users", "many")]);
        let e = Errors::from([("users".to_string(), "expected a whole number".to_string())]);
        let m = form(Lang::En, "/reports/new", &t, &e, false).into_string();
        assert!(
            m.contains("&lt;b&gt;光回線が不通&lt;/b&gt;"),
            "typed text kept, escaped: {m}"
        );
        assert!(m.contains("value=\"many\""));
        assert!(m.contains("id=\"users-error\""));
        assert!(m.contains("aria-invalid=\"true\""));
    }
}

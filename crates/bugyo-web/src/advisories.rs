//! Advisories on the portal: the regulator or the hub shares the whole
//! picture back to the members concerned, from a group of `/picture` or
//! from `/advisories/new`, in Japanese and English; a member reads those
//! addressed to its organisation. Issuing and reading go through the API's
//! functions (`bugyo_api::advisories::issue_for`, `readable`,
//! `readable_list`), with the same permissions and audit; the notifier
//! delivers each advisory to every contact of its recipients.

use crate::lang::Lang;
use crate::layout::{page, time, tlp};
use crate::session::{SameOrigin, Signed};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use bugyo_api::error::ApiError;
use bugyo_api::ApiState;
use bugyo_store::advisories::{parse_tlp, Advisory, NewAdvisory};
use bugyo_store::Role;
use maud::{html, Markup};

const OVERSIGHT: &[Role] = &[Role::Regulator, Role::Analyst, Role::Admin];

/// What was typed into the form.
#[derive(Clone, Debug, Default)]
pub struct Draft {
    /// Titles and texts.
    pub title_ja: String,
    /// English title.
    pub title_en: String,
    /// Japanese text.
    pub body_ja: String,
    /// English text.
    pub body_en: String,
    /// TLP label.
    pub tlp: String,
    /// Recipient handles.
    pub orgs: Vec<String>,
    /// Related incidents.
    pub incidents: Vec<i64>,
    /// Related reports.
    pub reports: Vec<i64>,
}

impl Draft {
    fn from_pairs(pairs: &[(String, String)]) -> Draft {
        let mut d = Draft::default();
        for (k, v) in pairs {
            match k.as_str() {
                "title_ja" => d.title_ja = v.clone(),
                "title_en" => d.title_en = v.clone(),
                "body_ja" => d.body_ja = v.clone(),
                "body_en" => d.body_en = v.clone(),
                "tlp" => d.tlp = v.clone(),
                "org" => d.orgs.push(v.clone()),
                "incident" => d.incidents.extend(v.parse::<i64>().ok()),
                "report" => d.reports.extend(v.parse::<i64>().ok()),
                _ => {}
            }
        }
        d
    }
}

/// The form: `choices` are the organisations that may be addressed (handle,
/// name), those in `draft.orgs` ticked.
pub fn form(
    lang: Lang,
    choices: &[(String, String)],
    draft: &Draft,
    error: Option<(&str, &str)>,
) -> Markup {
    let err = |f: &str| {
        error
            .filter(|(field, _)| *field == f)
            .map(|(_, m)| m.to_string())
    };
    let text_field = |name: &str, ja: &str, en: &str, value: &str, area: bool| {
        let e = err(name);
        html! {
            div class={ "field" @if e.is_some() { " invalid" } } {
                label for=(name) { (lang.pick(ja, en)) }
                @if area {
                    textarea id=(name) name=(name) aria-invalid=[e.as_ref().map(|_| "true")] { (value) }
                } @else {
                    input type="text" id=(name) name=(name) value=(value) aria-invalid=[e.as_ref().map(|_| "true")];
                }
                @if let Some(m) = &e { p.error id={ (name) "-error" } { (m) } }
            }
        }
    };
    html! {
        form.advisory method="post" action="/advisories" {
            @if let Some((f, m)) = error {
                @if !["title_ja", "title_en", "body_ja", "body_en", "orgs", "tlp"].contains(&f) {
                    p.error role="alert" { (f) ": " (m) }
                }
            }
            (text_field("title_ja", "件名(日本語)", "Title (Japanese)", &draft.title_ja, false))
            (text_field("title_en", "件名(英語)", "Title (English)", &draft.title_en, false))
            (text_field("body_ja", "本文(日本語)", "Text (Japanese)", &draft.body_ja, true))
            (text_field("body_en", "本文(英語)", "Text (English)", &draft.body_en, true))
            fieldset class={ "field" @if err("orgs").is_some() { " invalid" } } {
                legend { (lang.pick("宛先の会員", "Members to tell")) }
                @for (h, name) in choices {
                    label { input type="checkbox" name="org" value=(h) checked[draft.orgs.contains(h)]; " " (name) " (" (h) ")" } " "
                }
                @if let Some(m) = err("orgs") { p.error id="orgs-error" { (m) } }
            }
            div.field {
                label for="tlp" { "TLP" }
                select id="tlp" name="tlp" {
                    @for l in ["TLP:AMBER", "TLP:AMBER+STRICT", "TLP:GREEN", "TLP:CLEAR"] {
                        option value=(l) selected[draft.tlp == l] { (l) }
                    }
                }
            }
            @for i in &draft.incidents { input type="hidden" name="incident" value=(i); }
            @for r in &draft.reports { input type="hidden" name="report" value=(r); }
            button type="submit" { (lang.pick("注意喚起を送る", "Send the advisory")) }
        }
    }
}

/// The members that may be addressed: every member organisation.
async fn members(state: &ApiState) -> Result<Vec<(String, String)>, ApiError> {
    Ok(state
        .store
        .orgs()
        .await?
        .into_iter()
        .filter(|o| o.kind == bugyo_store::OrgKind::Member)
        .map(|o| (o.handle, o.name))
        .collect())
}

/// `GET /advisories/new?org=..&incident=..&report=..`: the form, filled.
pub async fn new_form(
    State(state): State<ApiState>,
    lang: Lang,
    Signed(c): Signed,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let r = async {
        c.require(OVERSIGHT)?;
        let choices = members(&state).await?;
        let draft = Draft {
            tlp: "TLP:AMBER".into(),
            ..Draft::from_pairs(&q)
        };
        Ok::<_, ApiError>(
            page(
                lang,
                lang.pick("注意喚起の発出", "Issue an advisory"),
                Some(&c),
                form(lang, &choices, &draft, None),
            )
            .into_response(),
        )
    }
    .await;
    r.unwrap_or_else(|e| crate::error_page(lang, Some(&c), &e))
}

/// `POST /advisories`.
pub async fn issue(
    State(state): State<ApiState>,
    lang: Lang,
    Signed(c): Signed,
    _: SameOrigin,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let draft = Draft::from_pairs(&pairs);
    let r = async {
        c.require(OVERSIGHT)?;
        let mut orgs = Vec::new();
        for h in &draft.orgs {
            let o = state.store.org(h).await?.ok_or_else(|| {
                ApiError::bad_field(
                    "orgs",
                    format!("{h:?}: no such organisation / その組織はありません"),
                )
            })?;
            orgs.push(o.id);
        }
        let tlp = match draft.tlp.as_str() {
            "" => None,
            t => Some(parse_tlp(t).ok_or_else(|| {
                ApiError::bad_field("tlp", "TLP:CLEAR, TLP:GREEN, TLP:AMBER or TLP:AMBER+STRICT")
            })?),
        };
        let new = NewAdvisory {
            title_ja: draft.title_ja.clone(),
            title_en: draft.title_en.clone(),
            body_ja: draft.body_ja.clone(),
            body_en: draft.body_en.clone(),
            tlp,
            orgs,
            incidents: draft.incidents.clone(),
            reports: draft.reports.clone(),
        };
        bugyo_api::advisories::issue_for(&state, &c, &new).await
    }
    .await;
    match r {
        Ok(a) => Redirect::to(&format!("/advisories/{}", a.id)).into_response(),
        Err(e) if e.field().is_some() => {
            let choices = members(&state).await.unwrap_or_default();
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                page(
                    lang,
                    lang.pick("注意喚起の発出", "Issue an advisory"),
                    Some(&c),
                    form(
                        lang,
                        &choices,
                        &draft,
                        Some((e.field().unwrap_or("body"), e.message())),
                    ),
                ),
            )
                .into_response()
        }
        Err(e) => crate::error_page(lang, Some(&c), &e),
    }
}

fn title(lang: Lang, a: &Advisory) -> String {
    lang.pick(&a.title_ja, &a.title_en).to_string()
}

/// The advisories list as a table.
pub fn table(lang: Lang, items: &[Advisory]) -> Markup {
    html! {
        table.advisories {
            thead { tr { th { "#" } th { (lang.pick("発出", "Issued")) } th { (lang.pick("発出者", "From")) } th { (lang.pick("件名", "Title")) } th { "TLP" } } }
            tbody { @for a in items.iter().rev() {
                tr {
                    td { a href={ "/advisories/" (a.id) } { (a.id) } }
                    td { (time(a.created_at)) }
                    td { (a.issuer_name.as_deref().unwrap_or("—")) }
                    td { a href={ "/advisories/" (a.id) } { (title(lang, a)) } }
                    td { (tlp(a.tlp.label())) }
                }
            } }
        }
    }
}

/// `GET /advisories`.
pub async fn list(State(state): State<ApiState>, lang: Lang, Signed(c): Signed) -> Response {
    match bugyo_api::advisories::readable_list(&state, &c).await {
        Ok(items) => page(
            lang,
            lang.pick("注意喚起", "Advisories"),
            Some(&c),
            html! {
                @if OVERSIGHT.contains(&c.token.role) { p { a href="/advisories/new" { (lang.pick("注意喚起を発出する", "Issue an advisory")) } } }
                @if items.is_empty() { p { (lang.pick("注意喚起はありません。", "No advisories.")) } } @else { (table(lang, &items)) }
            },
        )
        .into_response(),
        Err(e) => crate::error_page(lang, Some(&c), &e),
    }
}

/// `GET /advisories/{id}`.
pub async fn advisory(
    State(state): State<ApiState>,
    lang: Lang,
    Signed(c): Signed,
    Path(id): Path<String>,
) -> Response {
    let r = async {
        let id = crate::path_id(&id, "id")?;
        bugyo_api::advisories::readable(&state, &c, id).await
    }
    .await;
    match r {
        Ok(a) => page(
            lang,
            &title(lang, &a),
            Some(&c),
            html! {
                p { (tlp(a.tlp.label())) " " (time(a.created_at)) " · " (a.issuer_name.as_deref().unwrap_or("—")) }
                div #advisory-body { @for para in lang.pick(&a.body_ja, &a.body_en).split("\n\n") { p { (para) } } }
                @if OVERSIGHT.contains(&c.token.role) {
                    p #recipients { (lang.pick("宛先: ", "Sent to: ")) (a.recipients.iter().map(|(_, h)| h.as_str()).collect::<Vec<_>>().join(", ")) }
                }
                @if !a.incidents.is_empty() {
                    p { (lang.pick("関連インシデント: ", "Incidents: ")) @for i in &a.incidents { a href={ "/incidents/" (i) } { "#" (i) } " " } }
                }
                @if !a.reports.is_empty() {
                    p { (lang.pick("関連する報告: ", "Reports: ")) @for r in &a.reports { a href={ "/reports/" (r) } { "#" (r) } " " } }
                }
            },
        )
        .into_response(),
        Err(e) => crate::error_page(lang, Some(&c), &e),
    }
}

//! Errors as the API returns them: a status and a JSON body
//! `{"error": {"code": "...", "message": "...", "field": "..."}}`, the message
//! in English and Japanese, the field named when one is at fault.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bugyo_store::StoreError;

/// An API error.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message (English and Japanese).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The field at fault, if one is.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// A bad value in `field`.
    pub fn bad_field(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            field: Some(field.into()),
            ..ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
        }
    }

    /// A malformed request (body not JSON, wrong types, too large).
    pub fn bad_request(status: StatusCode, message: impl Into<String>) -> ApiError {
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "too_large"
        } else if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            "unsupported_media_type"
        } else {
            "bad_request"
        };
        ApiError::new(status, code, message)
    }

    /// No valid token.
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid token is required (Authorization: Bearer bugyo_...) / 有効なトークンが必要です",
        )
    }

    /// The token's role may not do this.
    pub fn forbidden() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this token's role may not do this / このトークンの役割では許可されていません",
        )
    }

    /// Nothing there.
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what}: not found / 見つかりません"),
        )
    }

    /// Too many requests for this token.
    pub fn rate_limited() -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests for this token; slow down / このトークンのリクエストが多すぎます",
        )
    }

    /// The method is not served on this path.
    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed here / このメソッドは使えません",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Invalid { field, message } => ApiError::bad_field(field, message),
            e if e.is_conflict() => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "already exists / 既に存在します",
            ),
            StoreError::Database(_) | StoreError::Migrate(_) => {
                tracing::error!(error = %e, "store unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the store is unavailable; try again later / ストアが利用できません",
                )
            }
            StoreError::Corrupt { .. } => {
                tracing::error!(error = %e, "store data unreadable");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "stored data could not be read / 保存データを読めません",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = serde_json::json!({"code": self.code, "message": self.message});
        if let Some(f) = self.field {
            error["field"] = f.into();
        }
        (self.status, Json(serde_json::json!({ "error": error }))).into_response()
    }
}

/// Query parameters as pairs, or the error saying why they are unreadable
/// (e.g. a bad percent-encoding), as JSON like every other error.
pub fn query_pairs(
    q: Result<
        axum::extract::Query<Vec<(String, String)>>,
        axum::extract::rejection::QueryRejection,
    >,
) -> Result<Vec<(String, String)>, ApiError> {
    q.map(|axum::extract::Query(v)| v)
        .map_err(|r| ApiError::bad_request(r.status(), r.body_text()))
}

/// A path segment, or the error saying why it is unreadable.
pub fn path_segment(
    p: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<String, ApiError> {
    p.map(|axum::extract::Path(v)| v)
        .map_err(|r| ApiError::bad_request(r.status(), r.body_text()))
}

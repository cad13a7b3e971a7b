//! `POST /token`: a browser token for a known session, its role decided by the
//! authorizer.

use std::str::FromStr;

use http::StatusCode;

use super::{Answer, Handlers, dial_error, session_field};
use crate::http::error::ApiError;
use crate::http::json_response;
use crate::http::wire::{TokenRequest, TokenResponse};
use crate::policy::authorizer::Action;
use crate::{ConnectionData, Role, TokenOptions};

impl Handlers<'_> {
    /// `POST /token`.
    pub(crate) async fn issue_token(&self, body: TokenRequest) -> Answer {
        let session = session_field(&body.session_id, "sessionId")?;
        let requested = match body.role.as_deref() {
            Some(r) => Role::from_str(r).map_err(|e| ApiError::invalid_value("role", &e))?,
            None => Role::Publisher,
        };
        let data = match body.data {
            // Pages tell SIP legs apart by this data: a browser must not pose as one.
            Some(d) if d.starts_with("sip=") => {
                return Err(ApiError::invalid_field(
                    "data",
                    "`sip=` connection data is reserved for SIP legs",
                ));
            }
            Some(d) => {
                Some(ConnectionData::new(d).map_err(|e| ApiError::invalid_value("data", &e))?)
            }
            None => None,
        };
        let (room, known) = self.session_context(&session, true).await?;
        let role = self
            .authorize_known(
                Action::IssueToken {
                    session_id: session.clone(),
                    role: requested,
                    room,
                },
                known,
            )
            .await?
            .unwrap_or(requested);
        let options = TokenOptions {
            role,
            data,
            ..TokenOptions::default()
        };
        let token = self
            .inner
            .dialer
            .issue_token(&session, options)
            .map_err(|e| dial_error("issue_token", e))?;
        json_response(
            StatusCode::OK,
            &TokenResponse {
                token: token.expose_secret(),
                role,
                expires_at: token.expires_at().saturating_mul(1000),
            },
        )
    }
}

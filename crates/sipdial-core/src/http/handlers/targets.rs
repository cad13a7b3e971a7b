//! `GET /targets`: the names and labels callers pick from, never URIs or credentials.

use http::StatusCode;

use super::{Answer, Handlers};
use crate::http::json_response;
use crate::http::wire::{TargetInfo, TargetsResponse};
use crate::policy::authorizer::Action;

impl Handlers<'_> {
    /// `GET /targets`.
    pub(crate) async fn list_targets(&self) -> Answer {
        self.authorize(Action::ListTargets).await?;
        let targets = &self.inner.targets;
        json_response(
            StatusCode::OK,
            &TargetsResponse {
                targets: targets
                    .iter()
                    .map(|t| TargetInfo {
                        name: &t.name,
                        label: &t.label,
                    })
                    .collect(),
                default_target: targets.default().map(|t| t.name.as_str()),
                custom_uri_allowed: self.inner.allow_list.is_enabled(),
            },
        )
    }
}

//! `POST /session`: the room's session, created once.

use http::StatusCode;

use std::sync::Arc;

use super::{Answer, Handlers};
use crate::Room;
use crate::engine::rooms::{SessionAdmission, session_of_room};
use crate::http::error::ApiError;
use crate::http::json_response;
use crate::http::wire::{SessionRequest, SessionResponse};
use crate::policy::authorizer::Action;
use crate::policy::principal::ClientKey;

impl Handlers<'_> {
    /// `POST /session`.
    pub(crate) async fn create_session(&self, body: SessionRequest) -> Answer {
        let room = match body.room {
            Some(r) => Room::new(r).map_err(|e| ApiError::invalid_value("room", &e))?,
            None => Room::default(),
        };
        self.authorize(Action::CreateSession { room: room.clone() })
            .await?;
        let session = session_of_room(
            &self.inner.dialer,
            &self.inner.store,
            &self.inner.rooms_in_flight,
            room.clone(),
            SessionAdmission {
                limits: Arc::clone(&self.inner.limits),
                client: ClientKey::of(self.head, &self.inner.trusted_proxies).to_key(),
                policy: self.inner.policy,
            },
        )
        .await?;
        let platform = self.inner.dialer.platform();
        json_response(
            StatusCode::OK,
            &SessionResponse {
                room: room.as_str(),
                api_key: &platform.api_key,
                session_id: session.as_str(),
            },
        )
    }
}

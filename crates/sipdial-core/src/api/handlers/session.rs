//! `POST /session`: the room's session, created once.

use http::StatusCode;

use super::super::authorizer::Action;
use super::super::error::ApiError;
use super::super::json_response;
use super::super::rooms::session_of_room;
use super::super::wire::{SessionRequest, SessionResponse};
use super::{Answer, Handlers};
use crate::Room;

impl Handlers<'_> {
    /// `POST /session`.
    pub(crate) async fn create_session(&self, body: SessionRequest) -> Answer {
        let room = match body.room {
            Some(r) => Room::new(r).map_err(|e| ApiError::invalid_value("room", &e))?,
            None => Room::default(),
        };
        self.authorize(Action::CreateSession { room: room.clone() })
            .await?;
        let session = session_of_room(self.inner, room.clone()).await?;
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

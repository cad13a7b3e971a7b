//! `GET /events`: the session's call changes as Server-Sent Events.

use http::{HeaderValue, header};

use super::{Answer, Handlers, session_field, store_error};
use crate::backend::event_log::EventId;
use crate::http::error::ApiError;
use crate::http::extract::query_pairs;
use crate::policy::authorizer::Action;

impl Handlers<'_> {
    /// `GET /events?sessionId=`.
    pub(crate) async fn watch_events(&self, query: Option<&str>) -> Answer {
        let session = query_pairs(query)?
            .into_iter()
            .find(|(k, _)| k == "sessionId")
            .map(|(_, v)| v)
            .ok_or_else(|| ApiError::invalid_field("sessionId", "is required"))
            .and_then(|s| session_field(&s, "sessionId"))?;
        let (room, known) = self.session_context(&session, true).await?;
        self.authorize_known(
            Action::WatchEvents {
                session_id: session.clone(),
                room,
            },
            known,
        )
        .await?;
        let slot = self.inner.streams.reserve(&session).ok_or_else(|| {
            ApiError::too_many(
                "too_many_streams",
                "too many event streams are open; try again later",
                std::time::Duration::from_secs(5),
            )
        })?;
        // An id this server never issued (or garbage) just means "start over".
        let last_event_id = self
            .head
            .headers
            .get("last-event-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| EventId::new(v.trim()));
        let body = self
            .inner
            .streams
            .subscribe(&session, last_event_id, slot)
            .await
            .map_err(store_error)?;
        let mut res = http::Response::new(body);
        let headers = res.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // Reverse proxies (nginx) must pass each event on at once.
        headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
        Ok(res)
    }
}

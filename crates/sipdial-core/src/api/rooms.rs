//! Rooms map to one platform session each: the first request for a room creates it,
//! every concurrent request for the same room awaits that one creation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

use super::Inner;
use super::error::ApiError;
use super::handlers::{dial_error, store_error};
use super::store::CallStore;
use crate::sync::lock;
use crate::{Room, SessionId, SessionOptions, SipDialer};

/// One session creation, awaited by every request for its room.
type Flight = Shared<BoxFuture<'static, Result<SessionId, ApiError>>>;

/// Session creations in flight, one per room.
#[derive(Default)]
pub(crate) struct RoomFlights(Arc<Mutex<HashMap<Room, Flight>>>);

/// The session of `room`, from the store or created at most once however many
/// requests ask at the same time.
pub(crate) async fn session_of_room(inner: &Inner, room: Room) -> Result<SessionId, ApiError> {
    if let Some(s) = inner.store.room_session(&room).await.map_err(store_error)? {
        return Ok(s);
    }
    let flights = &inner.rooms_in_flight.0;
    let flight = {
        let mut map = lock(flights);
        map.entry(room.clone())
            .or_insert_with(|| {
                let weak = Arc::downgrade(flights);
                let dialer = Arc::clone(&inner.dialer);
                let store = Arc::clone(&inner.store);
                let room = room.clone();
                async move {
                    let result = create_room_session(&*dialer, &*store, &room).await;
                    // Removed only after the store holds the mapping, so a later
                    // request finds it there instead of starting a second creation.
                    if let Some(map) = weak.upgrade() {
                        lock(&map).remove(&room);
                    }
                    result
                }
                .boxed()
                .shared()
            })
            .clone()
    };
    flight.await
}

async fn create_room_session(
    dialer: &dyn SipDialer,
    store: &dyn CallStore,
    room: &Room,
) -> Result<SessionId, ApiError> {
    if let Some(existing) = store.room_session(room).await.map_err(store_error)? {
        return Ok(existing);
    }
    let created = dialer
        .create_session(SessionOptions::default())
        .await
        .map_err(|e| dial_error("create_session", e))?;
    tracing::info!("created the session of a room");
    store
        .insert_room_session(room, &created)
        .await
        .map_err(store_error)
}

//! Rooms map to one platform session each: the first request for a room creates it,
//! every concurrent request for the same room awaits that one creation.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

use crate::backend::limits::{DialLimits, DialPolicy, Refusal};
use crate::backend::store::{CallStore, StoreError};
use crate::sync::lock;
use crate::{DialError, Room, SessionId, SessionOptions, SipDialer, Timestamp};

/// Why a room's session could not be had: the store or the platform failed. Cloned to
/// every request awaiting the same creation.
#[derive(Debug, Clone)]
pub(crate) enum RoomError {
    /// The store could not read or write the room's mapping (or its claim).
    Store(StoreError),
    /// The platform refused to create the session.
    Dial(DialError),
    /// The client may create no more sessions now (under the policy quoted).
    Refused(Refusal, DialPolicy),
}

/// Who asks for a room, so that the request that actually creates its session counts
/// against the client's new sessions per minute: joining a known room, or a creation
/// already in flight, costs the platform nothing and is not counted.
pub(crate) struct SessionAdmission {
    pub(crate) limits: Arc<dyn DialLimits>,
    pub(crate) client: String,
    pub(crate) policy: DialPolicy,
}

impl SessionAdmission {
    async fn admit(&self) -> Result<(), RoomError> {
        self.limits
            .admit_session(&self.client, &self.policy)
            .await?
            .map_err(|r| RoomError::Refused(r, self.policy))
    }
}

impl From<StoreError> for RoomError {
    fn from(e: StoreError) -> Self {
        RoomError::Store(e)
    }
}

/// One session creation, awaited by every request for its room.
type Flight = Shared<BoxFuture<'static, Result<SessionId, RoomError>>>;

/// Session creations in flight, one per room.
#[derive(Default)]
pub(crate) struct RoomFlights(Arc<Mutex<HashMap<Room, Flight>>>);

/// The session of `room`, from the store or created at most once however many
/// requests ask at the same time.
pub(crate) async fn session_of_room(
    dialer: &Arc<dyn SipDialer>,
    store: &Arc<dyn CallStore>,
    flights: &RoomFlights,
    room: Room,
    admission: SessionAdmission,
) -> Result<SessionId, RoomError> {
    if let Some(s) = store.room_session(&room).await? {
        return Ok(s);
    }
    let flights = &flights.0;
    let flight = {
        let mut map = lock(flights);
        map.entry(room.clone())
            .or_insert_with(|| {
                let weak = Arc::downgrade(flights);
                let dialer = Arc::clone(dialer);
                let store = Arc::clone(store);
                let room = room.clone();
                async move {
                    let result = create_room_session(&*dialer, &*store, &room, &admission).await;
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

/// How long one replica may take to create a room's session before another may try.
const ROOM_CLAIM_TTL: Duration = Duration::from_secs(15);
/// How often a replica waiting for another's creation looks for the result.
const ROOM_POLL: Duration = Duration::from_millis(25);

/// Creates the session of `room` unless the store has one, across replicas too: the
/// one that claims the room creates it, the others wait for the mapping and reuse it
/// (or take over when the claim lapses, e.g. its replica died).
async fn create_room_session(
    dialer: &dyn SipDialer,
    store: &dyn CallStore,
    room: &Room,
    admission: &SessionAdmission,
) -> Result<SessionId, RoomError> {
    let owner = claim_owner();
    loop {
        if let Some(existing) = store.room_session(room).await? {
            return Ok(existing);
        }
        if store.claim_room(room, &owner, ROOM_CLAIM_TTL).await? {
            let result = create_claimed(dialer, store, room, admission).await;
            if let Err(e) = store.release_room(room, &owner).await {
                tracing::warn!(error = %e, "a room claim could not be released; it lapses");
            }
            return result;
        }
        tokio::time::sleep(ROOM_POLL).await;
    }
}

async fn create_claimed(
    dialer: &dyn SipDialer,
    store: &dyn CallStore,
    room: &Room,
    admission: &SessionAdmission,
) -> Result<SessionId, RoomError> {
    // Another replica may have finished between our look-up and the claim.
    if let Some(existing) = store.room_session(room).await? {
        return Ok(existing);
    }
    admission.admit().await?;
    let created = dialer
        .create_session(SessionOptions::default())
        .await
        .map_err(RoomError::Dial)?;
    tracing::info!("created the session of a room");
    Ok(store.insert_room_session(room, &created).await?)
}

/// A claim owner unique to this attempt (process, time and a counter).
fn claim_owner() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}-{}",
        std::process::id(),
        Timestamp::now().as_millis(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

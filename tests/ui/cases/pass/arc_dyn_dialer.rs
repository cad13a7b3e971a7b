//! A host's own dialer (no interior state beyond what is `Send + Sync`) is usable as
//! the shared plugin object, and so is an `Arc` of it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sipdial_core::{
    ClientToken, ConnectionId, DialError, DialRequest, Dtmf, DtmfTarget, PlatformInfo,
    SessionId, SessionOptions, SipCall, SipDialer, StreamId, StreamInfo, TokenOptions,
};

struct CountingDialer {
    calls: AtomicU64,
}

#[sipdial_core::async_trait]
impl SipDialer for CountingDialer {
    fn platform(&self) -> PlatformInfo {
        PlatformInfo { api_key: "key".into() }
    }
    async fn create_session(&self, _: SessionOptions) -> Result<SessionId, DialError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Ok(SessionId::new("1_session")?)
    }
    fn issue_token(&self, _: &SessionId, _: TokenOptions) -> Result<ClientToken, DialError> {
        Ok(ClientToken::new("token", 0))
    }
    async fn dial(&self, _: DialRequest) -> Result<SipCall, DialError> {
        Err(DialError::not_found("session"))
    }
    async fn hang_up(&self, _: &SessionId, _: &ConnectionId) -> Result<(), DialError> {
        Ok(())
    }
    async fn play_dtmf(&self, _: &DtmfTarget, _: &Dtmf) -> Result<(), DialError> {
        Ok(())
    }
    async fn force_mute(&self, _: &SessionId, _: &StreamId) -> Result<(), DialError> {
        Ok(())
    }
    async fn list_streams(&self, _: &SessionId) -> Result<Vec<StreamInfo>, DialError> {
        Ok(Vec::new())
    }
}

fn share(d: Arc<dyn SipDialer>) -> Arc<dyn SipDialer> {
    d
}

fn needs_send_sync<T: Send + Sync + 'static>(_: &T) {}

fn main() {
    let concrete = Arc::new(CountingDialer { calls: AtomicU64::new(0) });
    let dynamic: Arc<dyn SipDialer> = concrete.clone();
    needs_send_sync(&dynamic);
    let again = share(dynamic.clone());
    // `Arc<T>` is itself a dialer, so a wrapper can hold either form.
    let nested: Arc<dyn SipDialer> = Arc::new(again);
    let _ = nested.platform();
    let _boxed: Box<dyn SipDialer> = Box::new(concrete);
}

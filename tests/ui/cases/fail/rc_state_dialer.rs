//! A dialer is shared across requests and threads: `Rc` state must be refused.

use std::cell::Cell;
use std::rc::Rc;

use sipdial_core::{
    ClientToken, ConnectionId, DialError, DialRequest, Dtmf, DtmfTarget, PlatformInfo,
    SessionId, SessionOptions, SipCall, SipDialer, StreamId, StreamInfo, TokenOptions,
};

struct RcDialer {
    dialled: Rc<Cell<u32>>,
}

#[sipdial_core::async_trait]
impl SipDialer for RcDialer {
    fn platform(&self) -> PlatformInfo {
        PlatformInfo { api_key: "key".into() }
    }
    async fn create_session(&self, _: SessionOptions) -> Result<SessionId, DialError> {
        Err(DialError::Timeout)
    }
    fn issue_token(&self, _: &SessionId, _: TokenOptions) -> Result<ClientToken, DialError> {
        Err(DialError::Timeout)
    }
    async fn dial(&self, _: DialRequest) -> Result<SipCall, DialError> {
        self.dialled.set(self.dialled.get() + 1);
        Err(DialError::Timeout)
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

fn main() {}

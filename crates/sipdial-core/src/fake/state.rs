//! The fake platform's memory: which sessions exist (and whether they are routed) and
//! which SIP legs are up in them. Every rule the platform answers 404/409 for lives
//! here, so the dialer methods only glue requests to it.

use std::collections::HashMap;

use crate::{ConnectionId, DialError, SessionId, SipCall, StreamId, StreamInfo};

use super::script::{Recorded, Scripts};

#[derive(Debug, Default)]
pub(super) struct State {
    /// Session id → routed (`false` = relayed, which refuses SIP).
    sessions: HashMap<SessionId, bool>,
    /// Active calls, oldest first.
    calls: Vec<CallEntry>,
    pub(super) scripts: Scripts,
    pub(super) recorded: Vec<Recorded>,
}

#[derive(Debug)]
struct CallEntry {
    call: SipCall,
    muted: bool,
}

impl State {
    pub(super) fn add_session(&mut self, id: SessionId, routed: bool) {
        self.sessions.insert(id, routed);
    }

    pub(super) fn session_count(&self) -> usize {
        self.sessions.len()
    }

    fn require_session(&self, id: &SessionId) -> Result<bool, DialError> {
        self.sessions
            .get(id)
            .copied()
            .ok_or_else(|| DialError::not_found("session"))
    }

    /// A session the platform would dial into: known and routed.
    pub(super) fn require_routed(&self, id: &SessionId) -> Result<(), DialError> {
        if self.require_session(id)? {
            Ok(())
        } else {
            Err(DialError::Conflict {
                message: "the session is relayed; SIP calls need a routed session".into(),
            })
        }
    }

    /// A session that exists, routed or not.
    pub(super) fn require_known(&self, id: &SessionId) -> Result<(), DialError> {
        self.require_session(id).map(|_| ())
    }

    pub(super) fn add_call(&mut self, call: SipCall) {
        self.calls.push(CallEntry { call, muted: false });
    }

    fn call_index(
        &self,
        session: &SessionId,
        connection: &ConnectionId,
    ) -> Result<usize, DialError> {
        self.require_known(session)?;
        self.calls
            .iter()
            .position(|c| &c.call.session_id == session && &c.call.connection_id == connection)
            .ok_or_else(|| DialError::not_found("connection"))
    }

    pub(super) fn require_connection(
        &self,
        session: &SessionId,
        connection: &ConnectionId,
    ) -> Result<(), DialError> {
        self.call_index(session, connection).map(|_| ())
    }

    pub(super) fn remove_call(
        &mut self,
        session: &SessionId,
        connection: &ConnectionId,
    ) -> Result<SipCall, DialError> {
        let i = self.call_index(session, connection)?;
        Ok(self.calls.remove(i).call)
    }

    pub(super) fn mute_stream(
        &mut self,
        session: &SessionId,
        stream: &StreamId,
    ) -> Result<(), DialError> {
        self.require_known(session)?;
        let entry = self
            .calls
            .iter_mut()
            .find(|c| &c.call.session_id == session && &c.call.stream_id == stream)
            .ok_or_else(|| DialError::not_found("stream"))?;
        entry.muted = true;
        Ok(())
    }

    pub(super) fn is_muted(&self, stream: &StreamId) -> bool {
        self.calls
            .iter()
            .any(|c| &c.call.stream_id == stream && c.muted)
    }

    /// The SIP legs of `session` as the platform lists streams: audio only, so no
    /// video type.
    pub(super) fn streams(&self, session: &SessionId) -> Result<Vec<StreamInfo>, DialError> {
        self.require_known(session)?;
        Ok(self
            .calls
            .iter()
            .filter(|c| &c.call.session_id == session)
            .map(|c| StreamInfo {
                id: c.call.stream_id.clone(),
                video_type: None,
                name: None,
                layout_class_list: Vec::new(),
            })
            .collect())
    }

    /// The session's SIP legs, all `Connected`: a leg the fake hung up is gone from
    /// its list, as from the platform's.
    pub(super) fn connections(
        &self,
        session: &SessionId,
    ) -> Result<Vec<crate::ConnectionInfo>, DialError> {
        self.require_known(session)?;
        Ok(self
            .calls
            .iter()
            .filter(|c| &c.call.session_id == session)
            .map(|c| {
                crate::ConnectionInfo::new(
                    c.call.connection_id.clone(),
                    crate::ConnectionState::Connected,
                )
                .created_at(c.call.created_at)
            })
            .collect())
    }

    pub(super) fn calls(&self) -> Vec<SipCall> {
        self.calls.iter().map(|c| c.call.clone()).collect()
    }
}

//! What a caller may put into a dial: headers by allow-list, URIs the allow-list
//! matches, and nothing of a configured target borrowed by a caller's own URI.

use super::*;
use crate::api::{SipTarget, UriAllowList};
use crate::{SipFrom, SipHeaders, SipUri};

/// A target that lets callers set `Call-Info`, for the header cases.
const PBX_TARGET: &str = "pbx";

fn pbx_target() -> SipTarget {
    SipTarget::new(
        PBX_TARGET,
        SipUri::new("sip:pbx@pbx.fixture.example").unwrap_or_else(|e| panic!("{e}")),
    )
    .caller_headers(["Call-Info"])
}

async fn dial_with<I: HttpIntegration>(cx: &Cx<I>, body: Value) -> TestResponse {
    cx.send(cx.post_json("/dial", body)).await
}

/// From a caller: `X-` headers, and the names a target allows; never an
/// auto-answer `Call-Info`, a billing `P-Charge-Info` or a compact form (`b` is
/// `Referred-By`), which once went into the INVITE.
pub(in crate::testing) async fn dial_caller_headers_follow_the_allow_list<I: HttpIntegration>(
    _cx: &Cx<I>,
) -> Outcome {
    let cx = Cx::<I>::configured(|b| b.target(pbx_target())).await;
    let session = create_session(&cx, "headers").await?;
    for (name, value) in [
        ("Call-Info", "<http://x.example>;answer-after=0"),
        ("P-Charge-Info", "<sip:+15550100@evil.example>"),
        ("b", "<sip:boss@evil.example>"),
        ("Referred-By", "<sip:boss@evil.example>"),
        ("Alert-Info", "<http://x.example>;info=alert-autoanswer"),
    ] {
        let res = dial_with(
            &cx,
            json!({ "sessionId": session, "headers": { name: value } }),
        )
        .await;
        names_field(&res, StatusCode::BAD_REQUEST, "headers")
            .map_err(|e| format!("`{name}` from a caller: {e}"))?;
    }
    // A name RFC 3261 allows but a message must not echo: a backtick would end the
    // quote and let the caller's text shape the message (found by the fuzzer).
    let res = dial_with(
        &cx,
        json!({ "sessionId": session, "headers": { "`-A": "1" } }),
    )
    .await;
    names_field(&res, StatusCode::BAD_REQUEST, "headers")?;
    let message = res.json().ok().map(|v| v["error"]["message"].to_string());
    ensure(
        message
            .as_deref()
            .is_some_and(|m| !m.contains("`-A") && m.matches('`').count() % 2 == 0),
        || format!("the message echoes the caller's header name: {message:?}"),
    )?;
    count(&cx.fixture.dialer, Operation::Dial, 0)?;
    let res = dial_with(
        &cx,
        json!({ "sessionId": session, "headers": { "X-Ref": "42" } }),
    )
    .await;
    json_ok(&res, StatusCode::CREATED).map_err(|e| format!("an X- header: {e}"))?;
    let res = dial_with(
        &cx,
        json!({ "sessionId": session, "target": PBX_TARGET,
                "headers": { "call-info": "<http://x.example>;purpose=info" } }),
    )
    .await;
    json_ok(&res, StatusCode::CREATED).map_err(|e| format!("a header the target allows: {e}"))?;
    let placed = cx.fixture.dialer.recorded();
    ensure(
        placed.iter().any(|r| r.detail.contains("call-info")),
        || format!("the allowed header did not reach the INVITE: {placed:?}"),
    )
}

/// The allow-list's `*` matches digits only; a caller URI's user part never carries
/// `, ; ? % & = /`; and a caller's own URI borrows nothing of a configured target.
pub(in crate::testing) async fn dial_caller_uris_match_digits_and_borrow_nothing<
    I: HttpIntegration,
>(
    _cx: &Cx<I>,
) -> Outcome {
    let mut host_headers = SipHeaders::new();
    host_headers
        .insert("X-Host-Secret", "host-only")
        .map_err(|e| e.to_string())?;
    let cx = Cx::<I>::configured(|b| {
        b.allow_uri(UriAllowList::new().allow("sip:+1555*@gw.fixture.example"))
            .target(
                SipTarget::new(
                    "trunk",
                    SipUri::new("sip:trunk@pbx.fixture.example").unwrap_or_else(|e| panic!("{e}")),
                )
                .from(SipFrom::new("+15550199@trunk.example").unwrap_or_else(|e| panic!("{e}")))
                .headers(host_headers),
            )
            .default_target("trunk")
    })
    .await;
    let session = create_session(&cx, "uris").await?;
    for uri in [
        "sip:+1555evil@gw.fixture.example",
        "sip:+15551234567890123456789012@gw.fixture.example",
        "sip:+1555123,9011@gw.fixture.example",
        "sip:+1555123%2c9@gw.fixture.example",
        "sip:+1555123?x=1@gw.fixture.example",
        "sip:+1555123&a=b@gw.fixture.example",
        "sip:+1555123/9@gw.fixture.example",
    ] {
        let res = dial_with(&cx, json!({ "sessionId": session, "uri": uri })).await;
        ensure(res.status.is_client_error(), || {
            format!("{uri} was not refused: {}", res.status)
        })?;
        api_error(&res, res.status).map_err(|e| format!("{uri}: {e}"))?;
    }
    count(&cx.fixture.dialer, Operation::Dial, 0)?;
    let res = dial_with(
        &cx,
        json!({ "sessionId": session, "uri": "sip:+15551234@gw.fixture.example" }),
    )
    .await;
    let call = json_ok(&res, StatusCode::CREATED)?;
    ensure(call["target"].is_null(), || {
        format!("a caller's URI took a target's name: {call}")
    })?;
    let placed = cx.fixture.dialer.recorded();
    let dial = placed
        .iter()
        .find(|r| r.op == Operation::Dial)
        .ok_or("no dial recorded")?;
    ensure(
        !dial.detail.contains("X-Host-Secret") && !dial.detail.contains("+15550199"),
        || format!("a caller's URI borrowed the default target's From or headers: {dial:?}"),
    )?;
    // Both a target and a URI: which one the caller means is not a guess.
    let res = dial_with(
        &cx,
        json!({ "sessionId": session, "target": "trunk",
                "uri": "sip:+15551234@gw.fixture.example" }),
    )
    .await;
    names_field(&res, StatusCode::BAD_REQUEST, "uri")
}

async fn play<I: HttpIntegration>(
    cx: &Cx<I>,
    call: &Value,
    digits: &str,
) -> Result<TestResponse, String> {
    let id = str_field(call, "id")?;
    Ok(cx
        .send(cx.post_json(&format!("/calls/{id}/dtmf"), json!({ "digits": digits })))
        .await)
}

/// Caller DTMF per call: at most 5 requests per 10 s and 128 digits a minute (429 with
/// `Retry-After`), and none at all into a target that refuses it, at answer included.
pub(in crate::testing) async fn dtmf_is_rate_limited_and_targets_may_refuse_it<
    I: HttpIntegration,
>(
    _cx: &Cx<I>,
) -> Outcome {
    let cx = Cx::<I>::configured(|b| {
        b.callback_secret(Fixture::CALLBACK_SECRET).target(
            SipTarget::new(
                "ivr",
                SipUri::new("sip:ivr@pbx.fixture.example").unwrap_or_else(|e| panic!("{e}")),
            )
            .caller_dtmf(false)
            .caller_dtmf_after_answer(false),
        )
    })
    .await;
    let session = create_session(&cx, "dtmf").await?;
    let call = dial(&cx, &session).await?;
    for i in 0..5 {
        let res = play(&cx, &call, "1").await?;
        status(&res, StatusCode::NO_CONTENT).map_err(|e| format!("request {i}: {e}"))?;
    }
    let res = play(&cx, &call, "1").await?;
    api_error(&res, StatusCode::TOO_MANY_REQUESTS).map_err(|e| format!("a 6th request: {e}"))?;
    retry_after(&res)?;
    count(&cx.fixture.dialer, Operation::PlayDtmf, 5)?;

    let other = dial(&cx, &session).await?;
    let many = "1".repeat(64);
    for _ in 0..2 {
        status(&play(&cx, &other, &many).await?, StatusCode::NO_CONTENT)?;
    }
    let res = play(&cx, &other, "1").await?;
    api_error(&res, StatusCode::TOO_MANY_REQUESTS)
        .map_err(|e| format!("the 129th digit in a minute: {e}"))?;
    retry_after(&res)?;

    let ivr_session = create_session(&cx, "ivr").await?;
    let res = dial_with(
        &cx,
        json!({ "sessionId": ivr_session, "target": "ivr", "dtmfAfterAnswer": "9011#" }),
    )
    .await;
    api_error(&res, StatusCode::FORBIDDEN).map_err(|e| format!("digits at answer: {e}"))?;
    let res = dial_with(&cx, json!({ "sessionId": ivr_session, "target": "ivr" })).await;
    let ivr = json_ok(&res, StatusCode::CREATED)?;
    let res = play(&cx, &ivr, "9011#").await?;
    api_error(&res, StatusCode::FORBIDDEN).map_err(|e| format!("DTMF into the IVR: {e}"))?;
    count(&cx.fixture.dialer, Operation::PlayDtmf, 7)
}

//! What the form leaves to the host, what it serves about itself, and what it never shows.

use super::*;

// ---- served description ----------------------------------------------------------------

pub(in crate::testing) async fn openapi_names_the_mount_as_its_server<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let path = cx.path("/openapi.json");
    let doc = json_ok(&cx.send(TestRequest::get(&path)).await, StatusCode::OK)
        .map_err(|e| format!("GET {path}: {e}"))?;
    let want = if cx.base().is_empty() { "/" } else { cx.base() };
    ensure(doc["servers"][0]["url"] == want, || {
        format!(
            "the served document's server should be {want:?}: {}",
            doc["servers"]
        )
    })?;
    ensure(doc["paths"].get("/dial").is_some(), || {
        "the served document's paths are not relative to its server".to_owned()
    })
}

// ---- host app ------------------------------------------------------------------------

pub(in crate::testing) async fn foreign_paths_pass_through<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let posted = Bytes::from_static(b"hello host");
    let requests = [
        TestRequest::get("/host/page?x=1"),
        TestRequest::post("/host/form")
            .content_type("text/plain")
            .body(TestBody::Full(posted.clone())),
        TestRequest::get("/"),
    ];
    let mut requests = Vec::from(requests);
    if !cx.base().is_empty() {
        // Shares the API's leading characters but is not under it.
        requests.push(TestRequest::get(format!("{}x/page", cx.base())));
    }
    if !cx.http.mount().is_empty() {
        // The host's own route inside its mount, next to the API, and (unless the API
        // owns the whole mount) the mount's fallback.
        requests.push(TestRequest::get(format!("{}/host/page", cx.http.mount())));
        if !I::prefix().is_empty() {
            requests.push(TestRequest::get(format!("{}/host/other", cx.http.mount())));
        }
    }
    for req in requests {
        let (method, path, len) = (
            req.method.clone(),
            req.path().to_owned(),
            req.body.to_bytes().len(),
        );
        let res = cx.send(req).await;
        if cx.http.wraps_host_app() {
            status(&res, host::STATUS).map_err(|e| format!("{method} {path}: {e}"))?;
            ensure(res.header(host::HEADER) == Some(host::HEADER_VALUE), || {
                format!("{method} {path}: the host's header was lost")
            })?;
            let want = host::body(&method, &path, len);
            ensure(res.text() == want, || {
                format!(
                    "{method} {path}: expected the host's {want:?}, got {:?}",
                    res.text()
                )
            })?;
        } else {
            status(&res, StatusCode::NOT_FOUND).map_err(|e| format!("{method} {path}: {e}"))?;
        }
    }
    ensure(cx.fixture.dialer.recorded().is_empty(), || {
        "a foreign path reached the dialer".to_owned()
    })
}

// ---- secrets -------------------------------------------------------------------------

pub(in crate::testing) async fn responses_never_leak_secrets<I: HttpIntegration>(
    cx: &Cx<I>,
) -> Outcome {
    let session = create_session(cx, "lobby").await?;
    let call = dial(cx, &session).await?;
    let id = str_field(&call, "id")?.to_owned();
    let mut seen = vec![call.to_string()];
    for req in [
        TestRequest::get(cx.path("/targets")),
        TestRequest::get(cx.path(&format!("/calls?sessionId={session}&all=true"))),
        TestRequest::get(cx.path(&format!("/calls/{id}"))),
    ] {
        let res = cx.send(req).await;
        seen.push(format!("{:?} {}", res.headers, res.text()));
    }
    for text in seen {
        ensure(!text.contains(Fixture::SIP_PASSWORD), || {
            format!("the SIP password reached the client: {text}")
        })?;
        ensure(!text.contains(Fixture::SIP_HOST), || {
            format!("the target's SIP URI reached the client: {text}")
        })?;
    }
    Ok(())
}

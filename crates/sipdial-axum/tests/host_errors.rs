//! A host handler returning `sipdial_axum::ApiErrorResponse` answers exactly what the core
//! answers for the same error: status, headers and JSON body.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use http_body_util::BodyExt;
use sipdial_core::DialError;
use sipdial_core::api::ApiError as CoreApiError;
use tower::ServiceExt;

async fn failing() -> Result<String, sipdial_axum::ApiErrorResponse> {
    Err(DialError::RateLimited {
        retry_after: Some(Duration::from_secs(3)),
    })?
}

#[tokio::test]
async fn host_handler_errors_match_the_core() {
    let app: Router = Router::new().route("/mine", get(failing));
    let res = app
        .oneshot(Request::get("/mine").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let want = CoreApiError::from(DialError::RateLimited {
        retry_after: Some(Duration::from_secs(3)),
    })
    .into_response();

    assert_eq!(res.status(), want.status());
    for name in ["content-type", "retry-after"] {
        assert_eq!(res.headers().get(name), want.headers().get(name), "{name}");
    }
    let got = res.into_body().collect().await.unwrap().to_bytes();
    let want = want.into_body().try_into_bytes().unwrap();
    assert_eq!(got, want);
    let json: serde_json::Value = serde_json::from_slice(&got).unwrap();
    assert!(json["error"]["code"].is_string(), "{json}");
}

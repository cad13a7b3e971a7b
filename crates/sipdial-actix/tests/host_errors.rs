//! A host handler returning `sipdial_actix::ApiErrorResponse` answers exactly what the core
//! answers for the same error: status, headers and JSON body.

use std::time::Duration;

use actix_web::{App, test, web};
use sipdial_core::DialError;
use sipdial_core::api::ApiError as CoreApiError;

async fn failing() -> Result<String, sipdial_actix::ApiErrorResponse> {
    Err(DialError::RateLimited {
        retry_after: Some(Duration::from_secs(3)),
    })?
}

#[actix_web::test]
async fn host_handler_errors_match_the_core() {
    let app = test::init_service(App::new().route("/mine", web::get().to(failing))).await;
    let res = test::call_service(&app, test::TestRequest::get().uri("/mine").to_request()).await;
    let want = CoreApiError::from(DialError::RateLimited {
        retry_after: Some(Duration::from_secs(3)),
    })
    .into_response();

    assert_eq!(res.status().as_u16(), want.status().as_u16());
    for name in ["content-type", "retry-after"] {
        assert_eq!(
            res.headers().get(name).map(|v| v.as_bytes().to_vec()),
            want.headers().get(name).map(|v| v.as_bytes().to_vec()),
            "{name}"
        );
    }
    let got = test::read_body(res).await;
    let want = want.into_body().try_into_bytes().unwrap();
    assert_eq!(got, want);
    let json: serde_json::Value = serde_json::from_slice(&got).unwrap();
    assert!(json["error"]["code"].is_string(), "{json}");
}

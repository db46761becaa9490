//! The tests' one HTTP client: reqwest (the crate the `remote` key sources
//! fetch with, so it is in the graph already), with a 30 s timeout, and a
//! reply as the tests read it. Raw sockets stay only where a test must
//! control the bytes on the wire (slow or truncated bodies, idle
//! connections, descriptor limits).

use serde_json::Value;

/// A client with a 30 s timeout per request.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("a reqwest client")
}

/// The JSON body of a login with `token` (CONTRACT section 6).
pub fn login_body(token: &str) -> String {
    serde_json::json!({"loginMode": 67108864, "password": token}).to_string()
}

/// An administrator's request (CONTRACT section 7): the bearer token, the
/// `If-Match` version when given, a JSON body when given.
pub fn admin_request(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    if_match: Option<&str>,
    body: Option<&Value>,
) -> reqwest::RequestBuilder {
    let mut request = http.request(method, url).bearer_auth(token);
    if let Some(tag) = if_match {
        request = request.header("If-Match", tag);
    }
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body.to_string());
    }
    request
}

/// A server's answer: status, the headers the tests look at, and the body
/// as JSON (a string when it is not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// `X-Auth-Token`.
    pub session: Option<String>,
    /// `ETag`.
    pub etag: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Sends `request`; panics when the server does not answer.
    pub async fn send(request: reqwest::RequestBuilder) -> Reply {
        Reply::of(request.send().await.expect("the server answers")).await
    }

    pub async fn of(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (session, etag) = (header("x-auth-token"), header("etag"));
        let text = response.text().await.expect("the body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            session,
            etag,
            headers,
            body,
        }
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The error kind of an error body (`{"error": {"kind": …}}`), or "".
    pub fn kind(&self) -> &str {
        self.body["error"]["kind"].as_str().unwrap_or("")
    }
}

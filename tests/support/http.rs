//! The tests' one HTTP client: reqwest (the crate the `remote` key sources
//! fetch with, so it is in the graph already), with a 30 s timeout, and a
//! reply as the tests read it. Raw sockets stay only where a test must
//! control the bytes on the wire (slow or truncated bodies, idle
//! connections, descriptor limits, interim `100 Continue` answers): those
//! use [`super::wire`].

use serde_json::Value;

/// A client with a 30 s timeout per request.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("a reqwest client")
}

/// A client as a browser's first hop sees a server: redirects are not
/// followed (a test reads the `303` and its `Location`), nothing is kept
/// between requests (no cookie store: `Set-Cookie` stays in the reply's
/// headers, and a test sends [`cookie_header`] itself), and each request
/// has a connection of its own (no idle connection is pooled, so none
/// counts against a server's connection cap). 30 s timeout.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .expect("a reqwest client")
}

/// The value of a `Cookie` request header that sends cookie `name` with
/// `value`.
pub fn cookie_header(name: &str, value: &str) -> String {
    format!("{name}={value}")
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
    /// The body as sent (for byte-exact checks and "never shows X" checks).
    pub text: String,
}

impl Reply {
    /// Sends `request`; panics when the server does not answer.
    pub async fn send(request: reqwest::RequestBuilder) -> Reply {
        Reply::of(request.send().await.expect("the server answers")).await
    }

    pub async fn of(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("the body");
        Reply::from_parts(status, headers, text)
    }

    /// A reply of status, headers and body text.
    pub fn from_parts(status: u16, headers: reqwest::header::HeaderMap, text: String) -> Reply {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (session, etag) = (header("x-auth-token"), header("etag"));
        let body = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()));
        Reply {
            status,
            session,
            etag,
            headers,
            body,
            text,
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

impl Reply {
    /// Asserts the status and the error kind (`{"error": {"kind": …}}`),
    /// naming `what` and showing the body when they differ.
    #[track_caller]
    pub fn assert_error(&self, status: u16, kind: &str, what: &str) {
        assert_eq!(
            (self.status, self.kind()),
            (status, kind),
            "{what}: {}",
            self.text
        );
    }

    /// Every value of header `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().expect("a text header"))
            .collect()
    }

    /// The one `Set-Cookie` of cookie `name`: its value and its attributes
    /// (lower case, sorted). Panics (naming the headers) when there is none.
    pub fn cookie(&self, name: &str) -> (String, Vec<String>) {
        let prefix = format!("{name}=");
        let cookies: Vec<&str> = self
            .all("set-cookie")
            .into_iter()
            .filter(|c| c.starts_with(&prefix))
            .collect();
        assert_eq!(
            cookies.len(),
            1,
            "one Set-Cookie of {name}: {:?}",
            self.headers
        );
        let mut parts = cookies[0].split(';').map(str::trim);
        let value = parts.next().unwrap()[prefix.len()..].to_owned();
        let mut attributes: Vec<String> = parts.map(str::to_ascii_lowercase).collect();
        attributes.sort();
        (value, attributes)
    }
}

/// An answer read off the wire, as the client's reply (for the checks the
/// two share).
impl From<&super::wire::Raw> for Reply {
    fn from(raw: &super::wire::Raw) -> Reply {
        use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
        let mut headers = HeaderMap::new();
        for (name, value) in &raw.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).expect("a header name");
            headers.append(name, HeaderValue::from_str(value).expect("a header value"));
        }
        Reply::from_parts(raw.status, headers, raw.body.clone())
    }
}

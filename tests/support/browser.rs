//! Headless Chromium driven over WebDriver, for tests that use a page as a
//! person would (tests/admin_console.rs).
//!
//! [`Browser::start`] runs Debian's `chromedriver` on a free loopback port and
//! opens a session in headless Chromium (as root, so without its sandbox) with a
//! fresh profile directory; [`Browser::close`] ends both, and dropping a
//! `Browser` (a failed assertion) kills what is left. Without Chromium the test
//! is skipped with a note, except under `CI=true`, where it fails: CI installs
//! `chromium` and `chromium-driver`.
//!
//! `CHROMIUM` and `CHROMEDRIVER` name other binaries than the ones on `PATH`.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// How long a wait for the page gives up after.
pub const WAIT: Duration = Duration::from_secs(15);

/// The flags Chromium runs with: headless, and nothing that reaches outside
/// loopback or needs a sandbox, a GPU or a large `/dev/shm`.
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-default-browser-check",
    "--password-store=basic",
    "--lang=en-US",
];

/// The window (and so the viewport) size of the session.
pub const WIDTH: u32 = 1280;
/// See [`WIDTH`].
pub const HEIGHT: u32 = 900;

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

fn binary(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    names.iter().find_map(|name| on_path(name))
}

/// Chromium and chromedriver, or why not.
fn binaries() -> Result<(PathBuf, PathBuf), &'static str> {
    let chromium = binary("CHROMIUM", &["chromium", "chromium-browser"])
        .ok_or("`chromium` is not installed (not on PATH, or not at $CHROMIUM)")?;
    let chromedriver = binary("CHROMEDRIVER", &["chromedriver"])
        .ok_or("`chromedriver` is not installed (not on PATH, or not at $CHROMEDRIVER)")?;
    Ok((chromium, chromedriver))
}

/// Whether the browser test can run: `false` (after a printed note) when
/// Chromium is missing; under `CI=true` a missing Chromium panics instead.
/// Call it before any expensive set-up.
pub fn available() -> bool {
    match binaries() {
        Ok(_) => true,
        Err(reason) => unavailable(reason).is_some(),
    }
}

/// Skips (prints a note, returns `None`) or, under `CI=true`, fails.
fn unavailable(reason: &str) -> Option<Browser> {
    let message = format!(
        "{reason}; install Debian's packages with \
         `apt-get update && apt-get install -y chromium chromium-driver`"
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("the browser test needs Chromium under CI=true: {message}");
    }
    // Straight to stderr, past the test harness's capture, so that the skip shows.
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "note: skipping the browser test: {message}"
    );
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("no free loopback port")
}

/// The directory under `target/` for files a test leaves for people to look
/// at (screenshots, logs): next to `debug/`, so `CARGO_TARGET_DIR` holds.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/debug/deps/admin_console-… → target
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// `chromedriver`, in its own process group so that the Chromium it starts
/// goes down with it.
struct Driver {
    child: Child,
    profile: PathBuf,
}

impl Driver {
    fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // The whole group: chromedriver and any Chromium process left.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .stderr(Stdio::null())
                .status();
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A WebDriver session in headless Chromium.
pub struct Browser {
    client: Option<Client>,
    driver: Driver,
    shots: PathBuf,
    shot: usize,
    /// chromedriver's log, kept under `target/` for a failed run.
    pub log: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session; `None` when
    /// Chromium is not installed (see the module docs). `name` names the
    /// screenshot directory `target/console-screenshots/` gets (emptied first).
    pub async fn start(shots: &str) -> Option<Browser> {
        let (chromium, chromedriver) = match binaries() {
            Ok(found) => found,
            Err(reason) => return unavailable(reason),
        };
        let target = target_dir();
        let shots = target.join(shots);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).expect("creating the screenshot directory");
        let log = target.join("chromedriver.log");

        // A port found free can be taken before chromedriver binds it: retry.
        let mut last_error = String::new();
        for _ in 0..3 {
            let profile = std::env::temp_dir().join(format!(
                "jwt-sso-chromium-{}-{}",
                std::process::id(),
                free_port()
            ));
            let _ = std::fs::remove_dir_all(&profile);
            std::fs::create_dir_all(&profile).expect("creating the Chromium profile directory");
            let port = free_port();
            let log_file = std::fs::File::create(&log).expect("creating chromedriver.log");
            let child = Command::new(&chromedriver)
                .arg(format!("--port={port}"))
                .arg("--allowed-ips=127.0.0.1")
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().expect("log file"))
                .stderr(log_file)
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("starting {}: {e}", chromedriver.display()));
            let mut driver = Driver { child, profile };
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            if let Err(e) = wait_listening(&mut driver, addr) {
                last_error = e;
                continue;
            }
            match session(&chromium, &driver.profile, port).await {
                Ok(client) => {
                    return Some(Browser {
                        client: Some(client),
                        driver,
                        shots,
                        shot: 0,
                        log,
                    });
                }
                Err(e) => last_error = e,
            }
        }
        panic!(
            "could not start headless Chromium through chromedriver: {last_error} (log: {})",
            log.display()
        );
    }

    /// The WebDriver client.
    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("the session is open")
    }

    /// Ends the session (chromedriver closes Chromium), then chromedriver.
    pub async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
        }
        self.driver.stop();
    }

    /// Opens `url` and waits until its document has loaded.
    pub async fn goto(&self, url: &str) {
        self.client()
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    /// Runs `script` in the page and returns its value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client()
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("running `{script}` in the page: {e}"))
    }

    /// Waits until `condition` (evaluated repeatedly) holds; panics with
    /// `what` after [`WAIT`].
    pub async fn wait_until<F, Fut>(&self, what: &str, mut condition: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let started = Instant::now();
        loop {
            if condition().await {
                return;
            }
            if started.elapsed() > WAIT {
                self.screenshot_as("timeout").await;
                panic!("waited {WAIT:?} for {what}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The element `css` selects, once it is in the page and displayed.
    pub async fn visible(&self, css: &str) -> Element {
        let started = Instant::now();
        loop {
            if let Ok(element) = self.client().find(Locator::Css(css)).await
                && element.is_displayed().await.unwrap_or(false)
            {
                return element;
            }
            if started.elapsed() > WAIT {
                self.screenshot_as("timeout").await;
                panic!("waited {WAIT:?} for `{css}` to be displayed");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether `css` selects a displayed element now.
    pub async fn is_visible(&self, css: &str) -> bool {
        match self.client().find(Locator::Css(css)).await {
            Ok(element) => element.is_displayed().await.unwrap_or(false),
            Err(_) => false,
        }
    }

    /// Waits until nothing displayed matches `css`.
    pub async fn wait_gone(&self, css: &str) {
        let what = format!("`{css}` to disappear");
        self.wait_until(&what, || async { !self.is_visible(css).await })
            .await;
    }

    /// Clicks the displayed element `css` selects.
    pub async fn click(&self, css: &str) {
        let element = self.visible(css).await;
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking `{css}`: {e}"));
    }

    /// Replaces the text of the input `css` selects by typing `text`.
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.visible(css).await;
        element
            .clear()
            .await
            .unwrap_or_else(|e| panic!("clearing `{css}`: {e}"));
        if !text.is_empty() {
            element
                .send_keys(text)
                .await
                .unwrap_or_else(|e| panic!("typing into `{css}`: {e}"));
        }
    }

    /// Chooses the option with `value` in the `<select>` `css` selects.
    pub async fn select(&self, css: &str, value: &str) {
        let element = self.visible(css).await;
        element
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("choosing `{value}` in `{css}`: {e}"));
    }

    /// The rendered text of the displayed element `css` selects.
    pub async fn text(&self, css: &str) -> String {
        let element = self.visible(css).await;
        element
            .text()
            .await
            .unwrap_or_else(|e| panic!("reading `{css}`: {e}"))
    }

    /// Waits until the displayed element `css` selects shows text containing
    /// `needle`, and returns that text.
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        let started = Instant::now();
        let mut last = String::new();
        loop {
            if let Ok(element) = self.client().find(Locator::Css(css)).await
                && element.is_displayed().await.unwrap_or(false)
            {
                last = element.text().await.unwrap_or_default();
                if last.contains(needle) {
                    return last;
                }
            }
            if started.elapsed() > WAIT {
                self.screenshot_as("timeout").await;
                panic!("waited {WAIT:?} for `{css}` to show {needle:?}; it shows {last:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The text of every displayed element `css` selects, joined by newlines.
    pub async fn visible_text(&self, css: &str) -> String {
        let text = self
            .js(
                "return [...document.querySelectorAll(arguments[0])]
                   .filter((e) => e.getClientRects().length > 0)
                   .map((e) => e.innerText).join('\\n');",
                vec![json!(css)],
            )
            .await;
        text.as_str().unwrap_or_default().to_owned()
    }

    /// The property `name` of the element `css` selects (e.g. `checked`,
    /// `value`); retried while the page replaces the element.
    pub async fn prop(&self, css: &str, name: &str) -> Option<String> {
        let started = Instant::now();
        loop {
            let error = match self.client().find(Locator::Css(css)).await {
                Ok(element) => match element.prop(name).await {
                    Ok(value) => return value,
                    Err(e) => e.to_string(),
                },
                Err(e) => e.to_string(),
            };
            if started.elapsed() > WAIT {
                panic!("reading `{name}` of `{css}`: {error}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// All elements `css` selects.
    pub async fn all(&self, css: &str) -> Vec<Element> {
        self.client()
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("finding `{css}`: {e}"))
    }

    /// Writes a PNG of the whole page (the window grown to the page's height
    /// for the shot) as `target/<shots>/NN-<name>.png` and returns its path.
    pub async fn screenshot(&mut self, name: &str) -> PathBuf {
        self.shot += 1;
        let file = format!("{:02}-{name}", self.shot);
        self.screenshot_as(&file).await
    }

    async fn screenshot_as(&self, file: &str) -> PathBuf {
        let client = self.client();
        let height = client
            .execute(
                "return Math.ceil(Math.max(document.documentElement.scrollHeight, \
                 document.body ? document.body.scrollHeight : 0));",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_u64())
            .unwrap_or(u64::from(HEIGHT));
        // The window's frame takes a little of its height: add a margin.
        let tall = u32::try_from((height + 120).clamp(u64::from(HEIGHT), 5000)).unwrap_or(HEIGHT);
        let _ = client.set_window_size(WIDTH, tall).await;
        let _ = client.execute("window.scrollTo(0, 0);", vec![]).await;
        let png = client.screenshot().await;
        let _ = client.set_window_size(WIDTH, HEIGHT).await;
        let path = self.shots.join(format!("{file}.png"));
        match png {
            Ok(png) => std::fs::write(&path, png)
                .unwrap_or_else(|e| panic!("writing {}: {e}", path.display())),
            Err(e) => eprintln!("note: no screenshot {file}: {e}"),
        }
        path
    }
}

fn wait_listening(driver: &mut Driver, addr: SocketAddr) -> Result<(), String> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if let Ok(Some(status)) = driver.child.try_wait() {
            return Err(format!("chromedriver exited with {status}"));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("chromedriver did not listen within 20 s".into())
}

async fn session(chromium: &Path, profile: &Path, port: u16) -> Result<Client, String> {
    let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.push(format!("--window-size={WIDTH},{HEIGHT}"));
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": chromium, "args": args },
        "timeouts": { "pageLoad": 30_000, "script": 10_000, "implicit": 0 },
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!("an object literal")
    };
    // chromedriver listens on plain HTTP on loopback: no TLS connector needed.
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let mut builder = ClientBuilder::new(connector);
    builder.capabilities(capabilities);
    let url = format!("http://127.0.0.1:{port}");
    match tokio::time::timeout(Duration::from_secs(60), builder.connect(&url)).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => Err(format!("no WebDriver session: {e}")),
        Err(_) => Err("no WebDriver session within 60 s".into()),
    }
}

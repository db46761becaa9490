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
//!
//! A test finds what it uses as a person would: a button or link by its text
//! ([`Browser::button`], [`Browser::link`]), a field by its label
//! ([`Browser::field`]). [`Browser::audit`] runs axe-core in the page and
//! fails on any violation of WCAG 2.1 A or AA. axe-core comes from npm: the
//! version pinned (with its integrity hash) in `tests/support/axe/` is
//! installed with `npm ci` into `target/axe-core-<version>/` on first use;
//! `AXE_CORE` names an `axe.min.js` to use instead. Without npm the audit is
//! skipped with a note, except under `CI=true`, where it fails.

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

/// The browser's time zone (the `TZ` of chromedriver and so of Chromium): one
/// with a half-hour offset and no daylight saving time, so that a page that
/// mixes up local time and UTC shows it.
pub const TIME_ZONE: &str = "Australia/Darwin";

/// [`TIME_ZONE`]'s offset from UTC, in seconds.
pub const TIME_ZONE_OFFSET: i64 = 9 * 3600 + 30 * 60;

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
    skip_or_fail("the browser test", "Chromium", &message);
    None
}

/// Under `CI=true` panics (`test` needs `part`); elsewhere prints a note that
/// `test` is skipped, for `reason`.
fn skip_or_fail(test: &str, part: &str, reason: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test} needs {part} under CI=true: {reason}");
    }
    // Straight to stderr, past the test harness's capture, so that the skip shows.
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "note: skipping {test}: {reason}");
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
                .env("TZ", TIME_ZONE)
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

    /// Calls `attempt` every 50 ms until it gives a value; after [`WAIT`],
    /// takes a screenshot and panics with `what()`.
    async fn poll<T>(
        &self,
        what: impl FnOnce() -> String,
        mut attempt: impl AsyncFnMut() -> Option<T>,
    ) -> T {
        let started = Instant::now();
        loop {
            if let Some(value) = attempt().await {
                return value;
            }
            if started.elapsed() > WAIT {
                self.screenshot_as("timeout").await;
                panic!("waited {WAIT:?} for {}", what());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `condition` (evaluated repeatedly) holds; panics with
    /// `what` after [`WAIT`].
    pub async fn wait_until<F, Fut>(&self, what: &str, mut condition: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let holds = async || condition().await.then_some(());
        self.poll(|| what.to_owned(), holds).await;
    }

    /// The element `css` selects if it is in the page and displayed now.
    async fn displayed(&self, css: &str) -> Option<Element> {
        let element = self.client().find(Locator::Css(css)).await.ok()?;
        element
            .is_displayed()
            .await
            .unwrap_or(false)
            .then_some(element)
    }

    /// The element `css` selects, once it is in the page and displayed.
    pub async fn visible(&self, css: &str) -> Element {
        let what = || format!("`{css}` to be displayed");
        self.poll(what, async || self.displayed(css).await).await
    }

    /// Whether `css` selects a displayed element now.
    pub async fn is_visible(&self, css: &str) -> bool {
        self.displayed(css).await.is_some()
    }

    /// Waits until nothing displayed matches `css`.
    pub async fn wait_gone(&self, css: &str) {
        let what = format!("`{css}` to disappear");
        self.wait_until(&what, || async { !self.is_visible(css).await })
            .await;
    }

    /// Clicks the displayed element `css` selects.
    pub async fn click(&self, css: &str) {
        click_element(&self.visible(css).await, &format!("`{css}`")).await;
    }

    /// Replaces the text of the input `css` selects by typing `text`.
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.visible(css).await;
        replace_text(&element, text, &format!("`{css}`")).await;
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
        let last = std::cell::RefCell::new(String::new());
        let shows = async || {
            let element = self.displayed(css).await?;
            let text = element.text().await.unwrap_or_default();
            let found = text.contains(needle).then(|| text.clone());
            *last.borrow_mut() = text;
            found
        };
        let what = || format!("`{css}` to show {needle:?}; it shows {:?}", last.borrow());
        self.poll(what, shows).await
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
        let error = std::cell::RefCell::new(String::new());
        let read = async || {
            let read = match self.client().find(Locator::Css(css)).await {
                Ok(element) => element.prop(name).await,
                Err(e) => Err(e),
            };
            read.map_err(|e| *error.borrow_mut() = e.to_string()).ok()
        };
        let what = || format!("reading `{name}` of `{css}`: {}", error.borrow());
        self.poll(what, read).await
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

/// What [`Browser::find`] looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Find {
    /// A button (or `summary`), by its text or accessible name.
    Button,
    /// A link, by its text or accessible name.
    Link,
    /// A form control (or a `role=group` of them), by its label or accessible
    /// name.
    Field,
}

/// The script behind [`Browser::find`]: the displayed elements of a kind whose
/// accessible name (`aria-labelledby`, `aria-label`, `<label>`, text) is
/// `name` (or else begins with it), inside `scope` (a CSS selector) or, while a modal dialog is open,
/// inside it (the rest of the page is inert then).
const FIND_JS: &str = r#"
const [kind, name, scope] = arguments;
const norm = (s) => (s || '').replace(/\s+/g, ' ').trim();
const shown = (e) => e.checkVisibility({ visibilityProperty: true });
const label = (e) => {
  const by = e.getAttribute('aria-labelledby');
  if (by) return norm(by.split(/\s+/).map((id) => (document.getElementById(id) || {}).textContent || '').join(' '));
  const aria = e.getAttribute('aria-label');
  if (aria) return norm(aria);
  if (e.labels && e.labels.length > 0) return norm([...e.labels].map((l) => l.innerText).join(' '));
  return norm(e.innerText || e.value || '');
};
const selector = {
  button: 'button, [role=button], input[type=submit], input[type=button], summary',
  link: 'a[href]',
  field: 'input, select, textarea, [role=group]',
}[kind];
const dialog = document.querySelector('dialog[open]');
const roots = scope ? [...document.querySelectorAll(scope)] : [dialog || document];
const all = roots.flatMap((r) => [...r.querySelectorAll(selector)]).filter(shown);
let found = all.filter((e) => label(e) === name || (kind !== 'field' && norm(e.innerText) === name));
if (found.length === 0) found = all.filter((e) => label(e).startsWith(name));
return found;
"#;

impl Browser {
    /// The one displayed element of `kind` named `name` (inside `scope`, a
    /// CSS selector, when given); waits for it, and panics when none or
    /// several match.
    pub async fn find(&self, kind: Find, name: &str, scope: Option<&str>) -> Element {
        let what = match kind {
            Find::Button => "button",
            Find::Link => "link",
            Find::Field => "field",
        };
        let one = async || {
            let found = self
                .client()
                .execute(FIND_JS, vec![json!(what), json!(name), json!(scope)])
                .await
                .unwrap_or_else(|e| panic!("looking for the {what} {name:?}: {e}"));
            let ids: Vec<String> = found
                .as_array()
                .map(|list| {
                    list.iter()
                        .filter_map(|e| e.as_object()?.values().next()?.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            match ids.as_slice() {
                [one] => Some(Element::from_element_id(
                    self.client().clone(),
                    fantoccini::elements::ElementRef::from(one.clone()),
                )),
                [] => None,
                many => panic!(
                    "{} {what}s are named {name:?} (in {scope:?}): say which",
                    many.len()
                ),
            }
        };
        let wanted = || format!("a {what} named {name:?} (in {scope:?})");
        self.poll(wanted, one).await
    }

    /// The button named `name`.
    pub async fn button(&self, name: &str) -> Element {
        self.find(Find::Button, name, None).await
    }

    /// The link named `name`.
    pub async fn link(&self, name: &str) -> Element {
        self.find(Find::Link, name, None).await
    }

    /// The form control labelled `label`.
    pub async fn field(&self, label: &str) -> Element {
        self.find(Find::Field, label, None).await
    }

    /// Clicks the button named `name`.
    pub async fn press(&self, name: &str) {
        let button = self.button(name).await;
        self.click_on(&button, name).await;
    }

    /// Clicks `element` (`what`, for a failure's message) after scrolling it
    /// to the middle of the window, as a person brings what they click into
    /// view (WebDriver alone stops scrolling once the element's centre is in
    /// the window, where a sticky bar may still cover it).
    pub async fn click_on(&self, element: &Element, what: &str) {
        let id = element.element_id().to_string();
        self.js(
            "arguments[0].scrollIntoView({ block: 'center' });",
            vec![json!({ "element-6066-11e4-a52e-4f735466cecf": id })],
        )
        .await;
        click_element(element, &format!("{what:?}")).await;
    }

    /// Replaces the text of the field labelled `label` by typing `text`.
    pub async fn type_into(&self, label: &str, text: &str) {
        let field = self.field(label).await;
        replace_text(&field, text, &format!("{label:?}")).await;
    }

    /// Chooses the option whose text is `option` in the select labelled `label`.
    pub async fn choose(&self, label: &str, option: &str) {
        self.field(label)
            .await
            .find(Locator::XPath(&format!(
                ".//option[normalize-space(.)={}]",
                xpath_literal(option)
            )))
            .await
            .unwrap_or_else(|e| panic!("no option {option:?} in {label:?}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("choosing {option:?} in {label:?}: {e}"));
    }

    /// Whether `element` is the page's focused element.
    pub async fn has_focus(&self, element: &Element) -> bool {
        match self.client().active_element().await {
            Ok(active) => active.element_id() == element.element_id(),
            Err(_) => false,
        }
    }

    /// The accessible name and role-ish description of the focused element
    /// (for a failed assertion's message).
    pub async fn focused(&self) -> String {
        self.js(
            "const e = document.activeElement;
             return e ? `${e.tagName} ${e.id} ${e.getAttribute('aria-label') || ''} ${(e.innerText || '').slice(0, 40)}` : '';",
            vec![],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Runs axe-core on the page as it is and panics on any violation of
    /// WCAG 2.1 A or AA (tags `wcag2a`, `wcag2aa`, `wcag21a`, `wcag21aa`).
    /// `screen` names the screen in the message. Returns the number of rules
    /// that passed, or `None` when axe-core is not available (outside CI).
    pub async fn audit(&self, screen: &str) -> Option<u64> {
        let source = axe::source()?;
        // The page's CSP forbids outside scripts; WebDriver's scripts are
        // not the page's, so axe is put in through one.
        let loaded = self
            .js(
                "return typeof window.axe === 'object' && typeof window.axe.run === 'function';",
                vec![],
            )
            .await;
        if loaded != json!(true) {
            let script = format!("{source}\n;return typeof window.axe;");
            let kind = self.js(&script, vec![]).await;
            assert_eq!(kind, json!("object"), "axe-core did not load into the page");
        }
        let result = self
            .js(
                "return axe.run(document, {
                   runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
                   resultTypes: ['violations'],
                 }).then((r) => ({
                   passes: r.passes.length,
                   violations: r.violations.map((v) => ({
                     id: v.id, impact: v.impact, help: v.help,
                     nodes: v.nodes.map((n) => n.target.join(' ') + ' — ' + n.failureSummary),
                   })),
                 }));",
                vec![],
            )
            .await;
        let violations = result["violations"].as_array().cloned().unwrap_or_default();
        assert!(
            violations.is_empty(),
            "axe-core finds WCAG 2.1 A/AA violations on the {screen} screen:\n{}",
            serde_json::to_string_pretty(&violations).unwrap_or_default()
        );
        let passes = result["passes"]
            .as_u64()
            .unwrap_or_else(|| panic!("no axe-core result on the {screen} screen: {result}"));
        assert!(
            passes > 0,
            "axe-core checked nothing on the {screen} screen"
        );
        Some(passes)
    }
}

/// Clicks `element` (`what`, for a failure's message).
async fn click_element(element: &Element, what: &str) {
    element
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking {what}: {e}"));
}

/// Clears `element` (`what`, for a failure's message) and types `text` into it.
async fn replace_text(element: &Element, text: &str, what: &str) {
    element
        .clear()
        .await
        .unwrap_or_else(|e| panic!("clearing {what}: {e}"));
    if !text.is_empty() {
        element
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing into {what}: {e}"));
    }
}

/// `text` as an XPath string literal.
fn xpath_literal(text: &str) -> String {
    if !text.contains('\'') {
        format!("'{text}'")
    } else if !text.contains('"') {
        format!("\"{text}\"")
    } else {
        let parts: Vec<String> = text.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

/// axe-core (npm), installed on first use into the target directory.
mod axe {
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};
    use std::sync::OnceLock;

    /// The pinned version: `package.json` and `package-lock.json` (with the
    /// package's integrity hash, which `npm ci` checks) live here.
    fn manifest_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/axe")
    }

    fn pinned_version() -> String {
        let lock = std::fs::read_to_string(manifest_dir().join("package-lock.json"))
            .expect("reading tests/support/axe/package-lock.json");
        let lock: serde_json::Value =
            serde_json::from_str(&lock).expect("package-lock.json is JSON");
        lock["packages"]["node_modules/axe-core"]["version"]
            .as_str()
            .expect("package-lock.json pins axe-core")
            .to_owned()
    }

    /// `axe.min.js`, or `None` (after a note) when it cannot be had outside
    /// CI; under `CI=true` that panics.
    pub fn source() -> Option<&'static str> {
        static SOURCE: OnceLock<Option<String>> = OnceLock::new();
        SOURCE
            .get_or_init(|| match find() {
                Ok(path) => Some(
                    std::fs::read_to_string(&path)
                        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display())),
                ),
                Err(reason) => {
                    super::skip_or_fail("the accessibility audit", "axe-core", &reason);
                    None
                }
            })
            .as_deref()
    }

    fn find() -> Result<PathBuf, String> {
        if let Some(path) = std::env::var_os("AXE_CORE") {
            let path = PathBuf::from(path);
            return if path.is_file() {
                Ok(path)
            } else {
                Err(format!(
                    "AXE_CORE names {}, which is not a file",
                    path.display()
                ))
            };
        }
        let version = pinned_version();
        let dir = super::target_dir().join(format!("axe-core-{version}"));
        let script = dir.join("node_modules/axe-core/axe.min.js");
        if !script.is_file() {
            install(&dir)?;
        }
        let head = std::fs::read_to_string(&script).map_err(|e| e.to_string())?;
        if !head.starts_with(&format!("/*! axe v{version}")) {
            return Err(format!("{} is not axe-core {version}", script.display()));
        }
        Ok(script)
    }

    /// `npm ci` from the pinned manifest into a fresh directory, renamed
    /// into place when it is complete.
    fn install(dir: &Path) -> Result<(), String> {
        let npm = super::on_path("npm").ok_or(
            "`npm` is not installed (Debian: `apt-get install -y npm`), and AXE_CORE is not set",
        )?;
        let staging = dir.with_extension(format!("partial-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).map_err(|e| e.to_string())?;
        for file in ["package.json", "package-lock.json"] {
            std::fs::copy(manifest_dir().join(file), staging.join(file))
                .map_err(|e| format!("copying {file}: {e}"))?;
        }
        let output = Command::new(npm)
            .args([
                "ci",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
            ])
            .current_dir(&staging)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("running npm: {e}"))?;
        if !output.status.success() {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(format!(
                "`npm ci` for axe-core failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        let _ = std::fs::remove_dir_all(dir);
        std::fs::rename(&staging, dir).map_err(|e| e.to_string())
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

//! The session-cookie route of `benches/axum.rs` (`CurrentUser` against a
//! hand-written lookup of the same stores), measured without criterion:
//!
//! - `cargo bench --all-features --bench session_route -- paired ROUNDS N`:
//!   ROUNDS rounds, each timing N requests to one route and then N to the
//!   other (which goes first alternates), so that the load of a shared
//!   machine falls on both alike; prints the median and the spread of the
//!   per-round ratio jwt-sso / hand-written.
//! - `… -- allocs`: heap allocations (and bytes) per request on each route,
//!   counted by a global allocator that wraps the system one.
//! - `… -- run ROUTE N` (ROUTE `jwt_sso` or `hand`): N requests, nothing
//!   else timed or printed; for a profiler. Instructions per request with
//!   valgrind: `valgrind --tool=callgrind <bench binary> run jwt_sso N` for
//!   N = 0 and N = 10000, the difference of the totals divided by 10000.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::http::header::COOKIE;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use jwt_sso::axum::{CurrentUser, LoginOptions, SessionAuth};
use jwt_sso::{MemoryStore, Registry, Sessions, User, UserStore};
use tokio::runtime::Runtime;
use tower::ServiceExt;

#[path = "support/counting.rs"]
mod counting;
#[path = "support/hand_session.rs"]
mod hand_session;

use counting::{ALLOCATIONS, BYTES};
use hand_session::{HandSessions, HandUser};

/// Both routes on the same stores, the runtime and the request's cookie.
struct Case {
    runtime: Runtime,
    ours: Router,
    hand: Router,
    cookie: String,
}

impl Case {
    fn new() -> Self {
        // Timers: the session stores' calls are bounded in time.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let registry = Registry::from_configs([]).unwrap();
        let users = Arc::new(MemoryStore::new());
        let user = User {
            user_id: "jdoe".into(),
            user_type: "reader".into(),
            roles: vec!["Viewer".into()],
            name: None,
            email: None,
            created_by_config: None,
        };
        runtime.block_on(users.create(&user)).unwrap();
        let sessions = Arc::new(Sessions::new(MemoryStore::new(), registry.clock()));
        let token = runtime.block_on(sessions.create("jdoe", "ERP")).unwrap();
        let auth = SessionAuth::new(
            Arc::clone(&sessions),
            Arc::clone(&users),
            &LoginOptions::default(),
        );
        let ours = Router::new()
            .route("/me", get(|me: CurrentUser| async move { me.user.user_id }))
            .with_state(auth);
        let hand = Router::new()
            .route(
                "/me",
                get(|HandUser(me): HandUser| async move { me.user_id }),
            )
            .with_state(HandSessions { sessions, users });
        Case {
            runtime,
            ours,
            hand,
            cookie: format!("theme=dark; jwt_sso_session={token}"),
        }
    }

    fn router(&self, route: &str) -> &Router {
        match route {
            "jwt_sso" => &self.ours,
            "hand" => &self.hand,
            other => panic!("unknown route {other:?}: jwt_sso or hand"),
        }
    }

    /// `n` requests to `router`, each answered `200`.
    fn requests(&self, router: &Router, n: u64) {
        for _ in 0..n {
            let request = Request::get("/me")
                .header(COOKIE, self.cookie.as_str())
                .body(Body::empty())
                .unwrap();
            let response = self
                .runtime
                .block_on(router.clone().oneshot(black_box(request)))
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
        }
    }

    /// Nanoseconds per request over `n` requests.
    fn time(&self, router: &Router, n: u64) -> f64 {
        let start = Instant::now();
        self.requests(router, n);
        start.elapsed().as_nanos() as f64 / n as f64
    }
}

fn median(sorted: &[f64]) -> f64 {
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

fn paired(rounds: usize, n: u64) {
    let case = Case::new();
    case.requests(&case.ours, n);
    case.requests(&case.hand, n);
    let (mut ours, mut hand, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (o, h) = if round % 2 == 0 {
            let o = case.time(&case.ours, n);
            (o, case.time(&case.hand, n))
        } else {
            let h = case.time(&case.hand, n);
            (case.time(&case.ours, n), h)
        };
        ours.push(o);
        hand.push(h);
        ratios.push(o / h);
    }
    for v in [&mut ours, &mut hand, &mut ratios] {
        v.sort_by(f64::total_cmp);
    }
    let quartile = |v: &[f64], q: usize| v[(v.len() - 1) * q / 4];
    println!("{rounds} rounds of {n} requests per route, interleaved");
    println!(
        "jwt_sso_current_user  median {:.0} ns/request (quartiles {:.0}..{:.0})",
        median(&ours),
        quartile(&ours, 1),
        quartile(&ours, 3)
    );
    println!(
        "hand_written_lookup   median {:.0} ns/request (quartiles {:.0}..{:.0})",
        median(&hand),
        quartile(&hand, 1),
        quartile(&hand, 3)
    );
    println!(
        "ratio jwt_sso / hand  median {:.3} (quartiles {:.3}..{:.3}, min {:.3}, max {:.3})",
        median(&ratios),
        quartile(&ratios, 1),
        quartile(&ratios, 3),
        ratios[0],
        ratios[ratios.len() - 1]
    );
}

fn allocs() {
    let case = Case::new();
    const N: u64 = 1000;
    for route in ["jwt_sso", "hand"] {
        let router = case.router(route);
        case.requests(router, 1); // anything lazily initialised, once
        let (a, b) = (
            ALLOCATIONS.load(Ordering::Relaxed),
            BYTES.load(Ordering::Relaxed),
        );
        case.requests(router, N);
        let (a2, b2) = (
            ALLOCATIONS.load(Ordering::Relaxed),
            BYTES.load(Ordering::Relaxed),
        );
        println!(
            "{route:8} {:.1} allocations, {:.0} bytes per request",
            (a2 - a) as f64 / N as f64,
            (b2 - b) as f64 / N as f64
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--bench")
        .collect();
    match args.as_slice() {
        ["paired", rounds, n] => paired(rounds.parse().unwrap(), n.parse().unwrap()),
        ["allocs"] => allocs(),
        ["run", route, n] => {
            let case = Case::new();
            case.requests(case.router(route), n.parse().unwrap());
        }
        // `cargo bench` without arguments: a short paired run.
        [] => paired(21, 2000),
        _ => eprintln!("usage: session_route [paired ROUNDS N | allocs | run jwt_sso|hand N]"),
    }
}

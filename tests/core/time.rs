//! CONTRACT section 3: `exp`, `nbf`, `iat` and the maximum age, each at its
//! boundary, with and without leeway; non-integer NumericDates; `expires_at`;
//! the injectable clock.
#![cfg(feature = "mint")]

use crate::support::fixtures as common;

use common::*;
use jwt_sso::{ErrorKind, ManualClock, UnixTime};
use serde_json::{Value, json};

/// `expiration_time` of every configuration here.
const E: i64 = 3600;

/// What a case expects: acceptance with this `expires_at` (RFC 3339), or a
/// rejection of this kind whose message names these texts.
enum Expect {
    Accepted(String),
    Rejected(ErrorKind, Vec<String>),
}

use Expect::*;

struct Case {
    name: String,
    leeway: i64,
    claims: Value,
    now: i64,
    expect: Expect,
}

fn time_config(leeway: i64) -> Value {
    patched(
        base_config(),
        json!({"leeway": leeway, "expiration_time": E}),
    )
}

/// Runs one case through `verify_at` and through `with_clock(FixedClock)` + `verify`.
fn run(case: &Case) {
    let config = time_config(case.leeway);
    let token = hs256(&case.claims);
    let by_argument = verifier(&config).verify_at(&token, case.now);
    let by_clock = verifier(&config)
        .into_inner()
        .with_clock(ManualClock::new(UnixTime::from_secs(case.now)))
        .verify_cached(&token);
    for (how, result) in [("verify_at", by_argument), ("FixedClock", by_clock)] {
        let name = format!("{} (leeway {}, {how})", case.name, case.leeway);
        match (&case.expect, result) {
            (Accepted(expires_at), Ok(identity)) => {
                let json = serde_json::to_value(&identity).unwrap();
                assert_eq!(json["expires_at"], json!(expires_at), "{name}");
            }
            (Rejected(kind, needles), Err(err)) => {
                assert_eq!(err.kind(), *kind, "{name}: {err}");
                check_error(&err);
                for needle in needles {
                    assert!(
                        err.to_string().contains(needle.as_str()),
                        "{name}: should name {needle}: {err}"
                    );
                }
            }
            (Accepted(_), Err(err)) => {
                panic!("{name}: expected acceptance, got {}: {err}", err.kind())
            }
            (Rejected(kind, _), Ok(id)) => panic!("{name}: expected {kind}, accepted: {id:?}"),
        }
    }
}

fn case(name: &str, leeway: i64, claims: Value, now: i64, expect: Expect) -> Case {
    Case {
        name: name.to_owned(),
        leeway,
        claims,
        now,
        expect,
    }
}

/// What a rejection's message names: `times` as RFC 3339, then `numbers`.
fn texts(times: &[i64], numbers: &[i64]) -> Vec<String> {
    let times = times.iter().map(|t| rfc3339(*t));
    times.chain(numbers.iter().map(i64::to_string)).collect()
}

#[test]
fn boundaries_of_every_time_rule_with_leeway_0_and_60() {
    use ErrorKind::*;
    let mut cases = Vec::new();
    for l in [0, 60] {
        // exp: expired when now >= exp + L.
        let exp = NOW + 100;
        let exp_only = json!({"sub": "jdoe", "exp": exp});
        // nbf: not yet valid when now + L < nbf; iat: issued in the future
        // when now + L < iat.
        let (nbf, iat) = (NOW + 500, NOW + 500);
        let with_nbf = json!({"sub": "jdoe", "nbf": nbf, "exp": nbf + 1000});
        let with_iat = json!({"sub": "jdoe", "iat": iat, "exp": iat + 1000});
        // Max age with iat: too old when now > iat + E + L.
        let young = json!({"sub": "jdoe", "iat": NOW, "exp": NOW + E + l + 100});
        // Max age without iat: lives too long when exp - now > E + L.
        let far = NOW + 10_000;
        let long_lived = json!({"sub": "jdoe", "exp": far});
        // With iat, a long-lived token is fine as long as it is young enough.
        let iat_long_lived = json!({"sub": "jdoe", "iat": NOW, "exp": NOW + 10 * E});
        #[rustfmt::skip]
        let rows = vec![
            case("exp: now = exp + L - 1", l, exp_only.clone(), exp + l - 1, Accepted(rfc3339(exp))),
            case("exp: now = exp + L", l, exp_only.clone(), exp + l, Rejected(Expired, texts(&[exp, exp + l], &[exp]))),
            case("exp: now = exp + L + 1", l, exp_only.clone(), exp + l + 1, Rejected(Expired, texts(&[exp, exp + l + 1], &[exp]))),
            case("exp: now = exp + L + 1 day", l, exp_only, exp + l + 86_400, Rejected(Expired, texts(&[exp, exp + l + 86_400], &[exp]))),
            case("nbf: now + L = nbf - 1", l, with_nbf.clone(), nbf - l - 1, Rejected(NotYetValid, texts(&[nbf, nbf - l - 1], &[]))),
            case("nbf: now + L = nbf", l, with_nbf.clone(), nbf - l, Accepted(rfc3339(nbf + 1000))),
            case("nbf: now = nbf", l, with_nbf, nbf, Accepted(rfc3339(nbf + 1000))),
            case("iat: now + L = iat - 1", l, with_iat.clone(), iat - l - 1, Rejected(IssuedInFuture, texts(&[iat, iat - l - 1], &[]))),
            case("iat: now + L = iat", l, with_iat, iat - l, Accepted(rfc3339(iat + 1000))),
            case("max age: now = iat + E + L", l, young.clone(), NOW + E + l, Accepted(rfc3339(NOW + E))),
            case("max age: now = iat + E + L + 1", l, young, NOW + E + l + 1, Rejected(MaxAgeExceeded, texts(&[NOW, NOW + E + l + 1], &[E]))),
            case("no iat: exp - now = E + L", l, long_lived.clone(), far - E - l, Accepted(rfc3339(far))),
            case("no iat: exp - now = E + L + 1", l, long_lived, far - E - l - 1, Rejected(MaxAgeExceeded, texts(&[far, far - E - l - 1], &[E]))),
            case("iat present: exp far ahead", l, iat_long_lived, NOW, Accepted(rfc3339(NOW + E))),
        ];
        cases.extend(rows);
    }
    assert_eq!(cases.len(), 28, "14 cases for each leeway");
    for c in &cases {
        run(c);
    }
}

#[test]
fn messages_show_times_as_rfc3339() {
    use ErrorKind::*;
    let names = |texts: &[&str]| texts.iter().map(|t| t.to_string()).collect::<Vec<_>>();
    #[rustfmt::skip]
    let cases = vec![
        case("expired", 60, json!({"sub": "jdoe", "exp": NOW}), NOW + 60, Rejected(Expired, names(&["2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", "60"]))),
        case("not yet valid", 60, json!({"sub": "jdoe", "nbf": NOW + 3600, "exp": NOW + 7200}), NOW, Rejected(NotYetValid, names(&["2026-01-01T01:00:00Z", NOW_RFC]))),
        case("issued in the future", 60, json!({"sub": "jdoe", "iat": NOW + 120, "exp": NOW + 600}), NOW, Rejected(IssuedInFuture, names(&["2026-01-01T00:02:00Z", NOW_RFC]))),
        case("too old", 60, json!({"sub": "jdoe", "iat": NOW - 86_400, "exp": NOW + 600}), NOW, Rejected(MaxAgeExceeded, names(&["2025-12-31T00:00:00Z", NOW_RFC, "3600"]))),
        case("lives too long", 60, json!({"sub": "jdoe", "exp": NOW + 86_400}), NOW, Rejected(MaxAgeExceeded, names(&["2026-01-02T00:00:00Z", NOW_RFC, "3600"]))),
    ];
    for c in &cases {
        run(c);
    }
}

#[test]
fn numeric_dates_may_have_a_fraction() {
    // Leeway 0 so the fractions decide.
    let half = |secs: i64| json!(secs as f64 + 0.5);
    #[rustfmt::skip]
    let cases = vec![
        case("exp 1000.5, now 1000", 0, json!({"sub": "jdoe", "exp": 1000.5}), 1000, Accepted("1970-01-01T00:16:40.5Z".into())),
        case("exp 1000.5, now 1001", 0, json!({"sub": "jdoe", "exp": 1000.5}), 1001, Rejected(ErrorKind::Expired, vec!["1970-01-01T00:16:40.5Z".into(), "1000.5".into()])),
        case("exp NOW + .5, now NOW", 0, json!({"sub": "jdoe", "exp": half(NOW)}), NOW, Accepted("2026-01-01T00:00:00.5Z".into())),
        case("exp NOW + .5, now NOW + 1", 0, json!({"sub": "jdoe", "exp": half(NOW)}), NOW + 1, Rejected(ErrorKind::Expired, vec!["2026-01-01T00:00:00.5Z".into()])),
        case("exp NOW - .5, now NOW", 0, json!({"sub": "jdoe", "exp": half(NOW - 1)}), NOW, Rejected(ErrorKind::Expired, vec![])),
        case("exp NOW + .5, leeway 60, now NOW + 60", 60, json!({"sub": "jdoe", "exp": half(NOW)}), NOW + 60, Accepted("2026-01-01T00:00:00.5Z".into())),
        case("exp NOW + .5, leeway 60, now NOW + 61", 60, json!({"sub": "jdoe", "exp": half(NOW)}), NOW + 61, Rejected(ErrorKind::Expired, vec![])),
        case("nbf NOW + .5, now NOW", 0, json!({"sub": "jdoe", "nbf": half(NOW), "exp": NOW + 600}), NOW, Rejected(ErrorKind::NotYetValid, vec!["2026-01-01T00:00:00.5Z".into()])),
        case("nbf NOW + .5, now NOW + 1", 0, json!({"sub": "jdoe", "nbf": half(NOW), "exp": NOW + 600}), NOW + 1, Accepted(rfc3339(NOW + 600))),
        case("iat NOW + .5, now NOW", 0, json!({"sub": "jdoe", "iat": half(NOW), "exp": NOW + 600}), NOW, Rejected(ErrorKind::IssuedInFuture, vec!["2026-01-01T00:00:00.5Z".into()])),
        case("iat NOW + .5, now NOW + 1", 0, json!({"sub": "jdoe", "iat": half(NOW), "exp": NOW + 600}), NOW + 1, Accepted(rfc3339(NOW + 600))),
        case("iat NOW + .5, now = iat + E - .5", 0, json!({"sub": "jdoe", "iat": half(NOW), "exp": NOW + 2 * E}), NOW + E, Accepted("2026-01-01T01:00:00.5Z".into())),
        case("iat NOW + .5, now = iat + E + .5", 0, json!({"sub": "jdoe", "iat": half(NOW), "exp": NOW + 2 * E}), NOW + E + 1, Rejected(ErrorKind::MaxAgeExceeded, vec![])),
        case("no iat, exp - now = E + .5", 0, json!({"sub": "jdoe", "exp": half(NOW + E)}), NOW, Rejected(ErrorKind::MaxAgeExceeded, vec![])),
        case("no iat, exp - now = E - .5", 0, json!({"sub": "jdoe", "exp": half(NOW + E)}), NOW + 1, Accepted("2026-01-01T01:00:00.5Z".into())),
        case("exp written as 1767226200.0", 0, json!({"sub": "jdoe", "exp": (NOW + 600) as f64}), NOW, Accepted(rfc3339(NOW + 600))),
    ];
    for c in &cases {
        run(c);
    }
}

#[test]
fn expires_at_is_the_earlier_of_exp_and_iat_plus_expiration_time() {
    #[rustfmt::skip]
    let cases = vec![
        // iat + E earlier than exp.
        case("iat + E < exp", 60, json!({"sub": "jdoe", "iat": NOW - 60, "exp": NOW + 7200}), NOW, Accepted("2026-01-01T00:59:00Z".into())),
        // exp earlier than iat + E.
        case("exp < iat + E", 60, json!({"sub": "jdoe", "iat": NOW - 60, "exp": NOW + 600}), NOW, Accepted("2026-01-01T00:10:00Z".into())),
        case("exp = iat + E", 60, json!({"sub": "jdoe", "iat": NOW, "exp": NOW + E}), NOW, Accepted("2026-01-01T01:00:00Z".into())),
        // No iat: exp.
        case("no iat", 60, json!({"sub": "jdoe", "exp": NOW + 3600}), NOW, Accepted("2026-01-01T01:00:00Z".into())),
        case("no iat, nbf present", 60, json!({"sub": "jdoe", "nbf": NOW - 10, "exp": NOW + 1800}), NOW, Accepted("2026-01-01T00:30:00Z".into())),
        // iat in the past within leeway of the max age: expires_at is already past.
        case("iat + E in the past within leeway", 60, json!({"sub": "jdoe", "iat": NOW - E - 30, "exp": NOW + 600}), NOW, Accepted("2025-12-31T23:59:30Z".into())),
    ];
    for c in &cases {
        run(c);
    }
    // The field itself, not only its serialisation.
    let v = verifier(&time_config(60));
    let identity = accept(
        &v,
        &hs256(&json!({"sub": "jdoe", "iat": NOW, "exp": NOW + 7200})),
        NOW,
    );
    assert_eq!(identity.expires_at.unix_timestamp(), NOW + E);
    assert_eq!(identity.expires_at.offset(), time::UtcOffset::UTC);
}

#[test]
fn leeway_defaults_to_60_seconds() {
    let v = verifier(&patched(base_config(), json!({"leeway": null})));
    assert_eq!(v.config().leeway, 60, "the default leeway");
    let exp = hs256(&json!({"sub": "jdoe", "exp": NOW}));
    let nbf = hs256(&json!({"sub": "jdoe", "nbf": NOW + 60, "exp": NOW + 600}));
    accept_named("exp, 59 s after", &v, &exp, NOW + 59);
    reject_named("exp, 60 s after", &v, &exp, NOW + 60, ErrorKind::Expired);
    accept_named("nbf, 60 s before", &v, &nbf, NOW);
    reject_named(
        "nbf, 61 s before",
        &v,
        &nbf,
        NOW - 1,
        ErrorKind::NotYetValid,
    );
}

#[test]
fn the_clock_is_injectable_and_defaults_to_system_time() {
    let token = hs256(&json!({"sub": "jdoe", "exp": NOW + 600}));
    let user = |result: Result<jwt_sso::Verified, jwt_sso::Error>| {
        result
            .map(|v| v.into_identity().user_id)
            .map_err(|e| e.kind())
    };
    // A verifier on a clock standing at each time.
    let jdoe = Ok("jdoe".to_owned());
    for (name, at, want) in [
        ("a clock at NOW", NOW, jdoe.clone()),
        ("a clock at exp", NOW + 600, Err(ErrorKind::Expired)),
        (
            "a clock long before",
            NOW - 10_000,
            Err(ErrorKind::MaxAgeExceeded),
        ),
    ] {
        let clocked = TestVerifier::new(config(&time_config(0)))
            .into_inner()
            .with_clock(ManualClock::new(UnixTime::from_secs(at)));
        assert_eq!(user(clocked.verify_cached(&token)), want, "{name}");
    }
    // A verification's own time (Verification::at) ignores the clock.
    let data = jwt_sso::JwtConfig::from_json_str(&time_config(0).to_string()).unwrap();
    let registry = jwt_sso::Registry::from_configs([data])
        .unwrap()
        .with_clock(ManualClock::new(UnixTime::from_secs(0)));
    let at_now = jwt_sso::Verification::default().at(UnixTime::from_secs(NOW));
    assert_eq!(
        user(registry.verify_cached(&token, at_now)),
        jdoe,
        "a registry on a clock at 0, verifying at NOW"
    );
    assert_eq!(
        user(registry.verify_cached(&token, jwt_sso::Verification::default())),
        Err(ErrorKind::MaxAgeExceeded),
        "a registry on a clock at 0, verifying at its clock's time"
    );

    // The default clock is the system's.
    let system_now = now();
    let live = hs256(&json!({"sub": "jdoe", "iat": system_now, "exp": system_now + 600}));
    let system = || jwt_sso::Verifier::new(config(&time_config(0)));
    let identity = system()
        .verify_cached(&live)
        .unwrap_or_else(|e| panic!("the system clock, a live token: {e}"));
    assert_eq!(
        identity.expires_at.unix_timestamp(),
        system_now + 600,
        "the system clock, a live token: expires_at"
    );
    let stale = hs256(&json!({"sub": "jdoe", "exp": 1_000_000_000}));
    assert_eq!(
        user(system().verify_cached(&stale)),
        Err(ErrorKind::Expired),
        "the system clock, a token of 2001"
    );
}

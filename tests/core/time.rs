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

#[test]
fn boundaries_of_every_time_rule_with_leeway_0_and_60() {
    let mut cases = Vec::new();
    for l in [0, 60] {
        // exp: expired when now >= exp + L.
        let exp = NOW + 100;
        let claims = json!({"sub": "jdoe", "exp": exp});
        cases.push(case(
            "exp: now = exp + L - 1",
            l,
            claims.clone(),
            exp + l - 1,
            Accepted(rfc3339(exp)),
        ));
        for now in [exp + l, exp + l + 1, exp + l + 86_400] {
            let needles = vec![rfc3339(exp), rfc3339(now), exp.to_string()];
            cases.push(case(
                "exp: now >= exp + L",
                l,
                claims.clone(),
                now,
                Rejected(ErrorKind::Expired, needles),
            ));
        }

        // nbf: not yet valid when now + L < nbf.
        let nbf = NOW + 500;
        let claims = json!({"sub": "jdoe", "nbf": nbf, "exp": nbf + 1000});
        let now = nbf - l - 1;
        let needles = vec![rfc3339(nbf), rfc3339(now)];
        cases.push(case(
            "nbf: now + L = nbf - 1",
            l,
            claims.clone(),
            now,
            Rejected(ErrorKind::NotYetValid, needles),
        ));
        cases.push(case(
            "nbf: now + L = nbf",
            l,
            claims.clone(),
            nbf - l,
            Accepted(rfc3339(nbf + 1000)),
        ));
        cases.push(case(
            "nbf: now = nbf",
            l,
            claims.clone(),
            nbf,
            Accepted(rfc3339(nbf + 1000)),
        ));

        // iat: issued in the future when now + L < iat.
        let iat = NOW + 500;
        let claims = json!({"sub": "jdoe", "iat": iat, "exp": iat + 1000});
        let now = iat - l - 1;
        let needles = vec![rfc3339(iat), rfc3339(now)];
        cases.push(case(
            "iat: now + L = iat - 1",
            l,
            claims.clone(),
            now,
            Rejected(ErrorKind::IssuedInFuture, needles),
        ));
        cases.push(case(
            "iat: now + L = iat",
            l,
            claims.clone(),
            iat - l,
            Accepted(rfc3339(iat + 1000)),
        ));

        // Max age with iat: too old when now > iat + E + L.
        let iat = NOW;
        let claims = json!({"sub": "jdoe", "iat": iat, "exp": iat + E + l + 100});
        cases.push(case(
            "max age: now = iat + E + L",
            l,
            claims.clone(),
            iat + E + l,
            Accepted(rfc3339(iat + E)),
        ));
        let now = iat + E + l + 1;
        let needles = vec![rfc3339(iat), rfc3339(now), E.to_string()];
        cases.push(case(
            "max age: now = iat + E + L + 1",
            l,
            claims.clone(),
            now,
            Rejected(ErrorKind::MaxAgeExceeded, needles),
        ));

        // Max age without iat: lives too long when exp - now > E + L.
        let exp = NOW + 10_000;
        let claims = json!({"sub": "jdoe", "exp": exp});
        cases.push(case(
            "no iat: exp - now = E + L",
            l,
            claims.clone(),
            exp - E - l,
            Accepted(rfc3339(exp)),
        ));
        let now = exp - E - l - 1;
        let needles = vec![rfc3339(exp), rfc3339(now), E.to_string()];
        cases.push(case(
            "no iat: exp - now = E + L + 1",
            l,
            claims.clone(),
            now,
            Rejected(ErrorKind::MaxAgeExceeded, needles),
        ));
        // With iat, a long-lived token is fine as long as it is young enough.
        let claims = json!({"sub": "jdoe", "iat": NOW, "exp": NOW + 10 * E});
        cases.push(case(
            "iat present: exp far ahead",
            l,
            claims,
            NOW,
            Accepted(rfc3339(NOW + E)),
        ));
    }
    assert_eq!(cases.len(), 28);
    for c in &cases {
        run(c);
    }
}

#[test]
fn messages_show_times_as_rfc3339() {
    let v = verifier(&time_config(60));
    let token = hs256(&json!({"sub": "jdoe", "exp": NOW}));
    let err = reject(&v, &token, NOW + 60, ErrorKind::Expired);
    assert_mentions(
        &err,
        &["2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", "60"],
    );

    let token = hs256(&json!({"sub": "jdoe", "nbf": NOW + 3600, "exp": NOW + 7200}));
    let err = reject(&v, &token, NOW, ErrorKind::NotYetValid);
    assert_mentions(&err, &["2026-01-01T01:00:00Z", NOW_RFC]);

    let token = hs256(&json!({"sub": "jdoe", "iat": NOW + 120, "exp": NOW + 600}));
    let err = reject(&v, &token, NOW, ErrorKind::IssuedInFuture);
    assert_mentions(&err, &["2026-01-01T00:02:00Z", NOW_RFC]);

    let token = hs256(&json!({"sub": "jdoe", "iat": NOW - 86_400, "exp": NOW + 600}));
    let err = reject(&v, &token, NOW, ErrorKind::MaxAgeExceeded);
    assert_mentions(&err, &["2025-12-31T00:00:00Z", NOW_RFC, "3600"]);

    let token = hs256(&json!({"sub": "jdoe", "exp": NOW + 86_400}));
    let err = reject(&v, &token, NOW, ErrorKind::MaxAgeExceeded);
    assert_mentions(&err, &["2026-01-02T00:00:00Z", NOW_RFC, "3600"]);
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
    assert_eq!(60, 60);
    let mut config = base_config();
    config.as_object_mut().unwrap().remove("leeway");
    let v = verifier(&config);
    assert_eq!(v.config().leeway, 60);
    let token = hs256(&json!({"sub": "jdoe", "exp": NOW}));
    accept(&v, &token, NOW + 59);
    reject(&v, &token, NOW + 60, ErrorKind::Expired);
    let token = hs256(&json!({"sub": "jdoe", "nbf": NOW + 60, "exp": NOW + 600}));
    accept(&v, &token, NOW);
    reject(&v, &token, NOW - 1, ErrorKind::NotYetValid);
}

#[test]
fn the_clock_is_injectable_and_defaults_to_system_time() {
    let token = hs256(&json!({"sub": "jdoe", "exp": NOW + 600}));
    let fresh = || TestVerifier::new(config(&time_config(0)));
    assert_eq!(
        fresh()
            .into_inner()
            .with_clock(ManualClock::new(UnixTime::from_secs(NOW)))
            .verify_cached(&token)
            .map(|v| v.into_identity().user_id)
            .map_err(|e| e.kind()),
        Ok("jdoe".into())
    );
    let err = fresh()
        .into_inner()
        .with_clock(ManualClock::new(UnixTime::from_secs(NOW + 600)))
        .verify_cached(&token)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Expired);
    let err = fresh()
        .into_inner()
        .with_clock(ManualClock::new(UnixTime::from_secs(NOW - 10_000)))
        .verify_cached(&token)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MaxAgeExceeded);
    // A verification's own time (Verification::at) ignores the clock.
    let data = jwt_sso::JwtConfig::from_json_str(&time_config(0).to_string()).unwrap();
    let registry = jwt_sso::Registry::from_configs([data])
        .unwrap()
        .with_clock(ManualClock::new(UnixTime::from_secs(0)));
    let at_now = jwt_sso::Verification::default().at(UnixTime::from_secs(NOW));
    assert_eq!(
        registry
            .verify_cached(&token, at_now)
            .map(|v| v.into_identity().user_id)
            .map_err(|e| e.kind()),
        Ok("jdoe".into())
    );
    assert_eq!(
        registry
            .verify_cached(&token, jwt_sso::Verification::default())
            .unwrap_err()
            .kind(),
        ErrorKind::MaxAgeExceeded
    );

    // The default clock is the system's.
    let system_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let live = hs256(&json!({"sub": "jdoe", "iat": system_now, "exp": system_now + 600}));
    let system = || jwt_sso::Verifier::new(config(&time_config(0)));
    let identity = system()
        .verify_cached(&live)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(identity.expires_at.unix_timestamp(), system_now + 600);
    let stale = hs256(&json!({"sub": "jdoe", "exp": 1_000_000_000}));
    let err = system().verify_cached(&stale).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Expired);
}

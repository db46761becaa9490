//! CONTRACT section 4 (and step 13): the claim mapping into the identity, and
//! the identity's JSON shape of section 5.
#![cfg(feature = "mint")]

use crate::support::fixtures as common;

use common::*;
use jwt_sso::{ClaimMapper, ErrorKind, MappedIdentity, PromptKind, PromptValue};
use serde_json::json;

#[test]
fn mapping_cases() {
    let n = run_cases("mapping.json");
    assert!(n >= 100, "only {n} cases");
}

/// The example configuration of CONTRACT section 1, with an HS256 secret
/// instead of a PEM.
fn contract_example_config() -> serde_json::Value {
    contract_config(
        json!(["HS256"]),
        json!({"type": "static", "secret": SECRET}),
    )
}

const CONTRACT_IDENTITY: &str = r#"{"config":"ERP","user_id":"jdoe","name":"Jane Doe","email":"jane@example.com","user_type":"reader","roles":["Viewer"],"prompts":[{"kind":"text","slot":1,"value":"Sales"},{"kind":"numeric","slot":2,"value":7},{"kind":"date","slot":1,"value":"2021-04-15"}],"expires_at":"2026-01-01T01:00:00Z","warnings":[]}"#;

#[test]
fn identity_has_the_exact_shape_of_contract_section_5() {
    let v = verifier(&contract_example_config());
    let token = hs256(&json!({
        "iss": "https://idp.example.com",
        "aud": "bi-server",
        "loginname": "jdoe",
        "name": "Jane Doe",
        "email": "jane@example.com",
        "department": "Sales",
        "level": 7,
        "hired": "2021-04-15",
        "exp": 1_767_229_200
    }));
    let identity = accept(&v, &token, NOW).into_identity();
    // Section 5's members exactly as printed, then the verified registered
    // claims of section 4 (end).
    let full = format!(
        "{},{}}}",
        CONTRACT_IDENTITY.strip_suffix('}').unwrap(),
        r#""issuer":"https://idp.example.com","subject":null,"token_id":null,"issued_at":null"#
    );
    let expected: serde_json::Value = serde_json::from_str(&full).unwrap();
    assert_eq!(serde_json::to_value(&identity).unwrap(), expected);
    // Member order too, as the contract prints it.
    assert_eq!(serde_json::to_string(&identity).unwrap(), full);
    // And it reads back into the same identity; without the new members too.
    let back: MappedIdentity = serde_json::from_str(&full).unwrap();
    assert_eq!(back, identity);
    let old: MappedIdentity = serde_json::from_str(CONTRACT_IDENTITY).unwrap();
    assert_eq!(old.issuer, None);

    // Reading an identity back is as strict about dates as mapping one.
    for bad in [
        "+2021-04-15",
        "-2021-04-15",
        "2021-4-15",
        "2021-04-15T00:00:00Z",
    ] {
        let text = CONTRACT_IDENTITY.replace("2021-04-15", bad);
        let err = serde_json::from_str::<MappedIdentity>(&text).expect_err(bad);
        assert!(err.is_data(), "{bad}: a date that does not parse: {err}");
    }

    // The typed fields agree with the JSON.
    assert_eq!(identity.config, "ERP");
    assert_eq!(identity.user_id, "jdoe");
    assert_eq!(identity.name.as_deref(), Some("Jane Doe"));
    assert_eq!(identity.roles, ["Viewer"]);
    assert_eq!(identity.prompts.len(), 3);
    assert_eq!(identity.prompts[0].kind, PromptKind::Text);
    assert_eq!(identity.prompts[0].value, PromptValue::Text("Sales".into()));
    assert_eq!(identity.prompts[1].value, PromptValue::Numeric(7.into()));
    assert_eq!(
        identity.prompts[2].value,
        PromptValue::Date(time::macros::date!(2021 - 04 - 15))
    );
    assert!(identity.warnings.is_empty());
}

#[test]
fn contract_example_with_claims_missing_or_mistyped() {
    let v = verifier(&contract_example_config());
    let base = json!({
        "iss": "https://idp.example.com", "aud": ["bi-server"], "loginname": 4711,
        "groups": "Viewer, Sales Admin", "level": "7", "hired": "2021-04-15T23:30:00-02:00",
        "iat": NOW - 3600, "exp": NOW + 86_400
    });
    let identity = accept(&v, &hs256(&base), NOW);
    // Only the absent prompt claim warns, and the warning names it; absent
    // name and email do not.
    assert_eq!(identity.warnings.len(), 1, "{:?}", identity.warnings);
    assert!(
        identity.warnings[0].contains("`department`"),
        "{:?}",
        identity.warnings
    );
    let json = serde_json::to_value(&identity).unwrap();
    assert_eq!(
        json,
        json!({
            "config": "ERP", "user_id": "4711", "name": null, "email": null, "user_type": "reader",
            "roles": ["Viewer", "Sales", "Admin"],
            "prompts": [{"kind": "numeric", "slot": 2, "value": 7}, {"kind": "date", "slot": 1, "value": "2021-04-16"}],
            "expires_at": "2026-01-01T23:00:00Z",
            "warnings": [identity.warnings[0].clone()],
            "issuer": "https://idp.example.com", "subject": null, "token_id": null,
            "issued_at": "2025-12-31T23:00:00Z"
        })
    );

    let mut bad = base.clone();
    bad["level"] = json!("seven");
    let err = reject(&v, &hs256(&bad), NOW, ErrorKind::InvalidClaim);
    assert_mentions(&err, &["`level`", "seven"]);
    let mut bad = base.clone();
    bad["hired"] = json!("someday");
    let err = reject(&v, &hs256(&bad), NOW, ErrorKind::InvalidClaim);
    assert_mentions(&err, &["`hired`", "someday"]);
    let mut bad = base;
    bad["email"] = json!(["jane@example.com"]);
    let err = reject(&v, &hs256(&bad), NOW, ErrorKind::InvalidClaim);
    assert_mentions(&err, &["`email`", "array"]);
}

#[test]
fn the_mapper_alone_maps_verified_claims() {
    let config = config(&patched(
        base_config(),
        json!({
            "claims": {"user_id": "/user/login", "roles": "/realm_access/roles"},
            "initial_roles": ["Viewer"],
            "user_type": "analyst",
            "system_prompts": [{"kind": "numeric", "slot": 3, "claim": "level"}]
        }),
    ));
    let mapper = ClaimMapper::new(&config);
    let expires = time::macros::datetime!(2026-01-01 01:00 UTC);
    let claims =
        json!({"user": {"login": -12}, "realm_access": {"roles": ["Viewer", "Ops"]}, "level": 2.5});
    let identity = mapper.map(claims.as_object().unwrap(), expires).unwrap();
    assert_eq!(identity.user_id, "-12");
    assert_eq!(identity.user_type, "analyst");
    assert_eq!(identity.roles, ["Viewer", "Ops"]);
    assert_eq!(identity.expires_at, expires);
    assert_eq!(
        serde_json::to_value(&identity.prompts).unwrap(),
        json!([{"kind": "numeric", "slot": 3, "value": 2.5}])
    );

    let claims = json!({"user": {}, "level": [1]});
    let err = mapper
        .map(claims.as_object().unwrap(), expires)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MissingUserId);
    assert_mentions(&err, &["/user/login", "`user`", "`level`"]);
    check_error(&err);
}

#[test]
fn integers_beyond_64_bits_map_to_their_decimal_text() {
    let v = verifier_with(json!({
        "claims": {"user_id": "loginname"},
        "system_prompts": [{"kind": "text", "slot": 1, "claim": "badge"}]
    }));
    let exp = NOW + 600;
    // Raw payloads: a serde_json value would already have rounded these.
    let integers = [
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775809",
        "123456789012345678901234567890",
    ];
    for lexeme in integers {
        let payload = format!(r#"{{"loginname":{lexeme},"badge":{lexeme},"exp":{exp}}}"#);
        let identity = accept(
            &v,
            &hs256_raw(br#"{"alg":"HS256"}"#, payload.as_bytes()),
            NOW,
        );
        assert_eq!(identity.user_id, lexeme);
        assert_eq!(
            identity.prompts[0].value,
            PromptValue::Text(lexeme.to_owned())
        );
    }
    // Numbers written as floats are not integers, however large.
    for lexeme in ["1.8446744073709552e19", "18446744073709551616.0", "1e20"] {
        let payload = format!(r#"{{"loginname":{lexeme},"exp":{exp}}}"#);
        let token = hs256_raw(br#"{"alg":"HS256"}"#, payload.as_bytes());
        let err = reject(&v, &token, NOW, ErrorKind::InvalidClaim);
        assert_mentions(&err, &["`loginname`"]);
    }

    // By JSON Pointer, inside an array, after strings that look like numbers.
    let v = verifier_with(json!({"claims": {"user_id": "/ids/1"}}));
    let payload = format!(
        r#"{{"note":"a \"quoted\" 18446744073709551617","ids":[1,18446744073709551616],"exp":{exp}}}"#
    );
    let identity = accept(
        &v,
        &hs256_raw(br#"{"alg":"HS256"}"#, payload.as_bytes()),
        NOW,
    );
    assert_eq!(identity.user_id, "18446744073709551616");
    // A top-level name holding `/` and `~`.
    let v = verifier_with(json!({"claims": {"user_id": "a/b~c"}}));
    let payload = format!(r#"{{"a/b~c":-18446744073709551616,"exp":{exp}}}"#);
    let identity = accept(
        &v,
        &hs256_raw(br#"{"alg":"HS256"}"#, payload.as_bytes()),
        NOW,
    );
    assert_eq!(identity.user_id, "-18446744073709551616");
}

#[test]
fn text_prompts_take_numbers_as_the_sender_wrote_them() {
    let v = verifier_with(json!({
        "system_prompts": [
            {"kind": "text", "slot": 1, "claim": "a"},
            {"kind": "text", "slot": 2, "claim": "/n/b"},
            {"kind": "numeric", "slot": 1, "claim": "a"}
        ]
    }));
    let exp = NOW + 600;
    for (a, b) in [("1e3", "2.50"), ("1E+3", "-0.0"), ("7.0", "1e-07")] {
        let payload = format!(r#"{{"sub":"jdoe","a":{a},"n":{{"b":{b}}},"exp":{exp}}}"#);
        let identity = accept(
            &v,
            &hs256_raw(br#"{"alg":"HS256"}"#, payload.as_bytes()),
            NOW,
        );
        assert_eq!(identity.prompts[0].value, PromptValue::Text(a.to_owned()));
        assert_eq!(identity.prompts[1].value, PromptValue::Text(b.to_owned()));
        // The numeric prompt is the number itself.
        let PromptValue::Numeric(n) = &identity.prompts[2].value else {
            panic!()
        };
        assert_eq!(n.as_f64(), a.parse::<f64>().ok());
    }
}

#[test]
fn a_claim_read_by_several_mappings_feeds_each_of_them() {
    let v = verifier_with(json!({
        "claims": {"user_id": "loginname", "name": "loginname", "roles": "groups"},
        "system_prompts": [
            {"kind": "text", "slot": 1, "claim": "loginname"},
            {"kind": "text", "slot": 2, "claim": "/groups/1"},
            {"kind": "text", "slot": 3, "claim": "/org/unit"},
            {"kind": "text", "slot": 4, "claim": "/org/site"}
        ]
    }));
    let claims = json!({
        "loginname": "jdoe", "groups": ["Sales", "EMEA"],
        "org": {"unit": "U1", "site": "S1"}, "exp": NOW + 600
    });
    let identity = accept(&v, &hs256(&claims), NOW);
    assert_eq!(identity.user_id, "jdoe");
    assert_eq!(identity.name.as_deref(), Some("jdoe"));
    assert!(
        identity
            .roles
            .ends_with(&["Sales".to_owned(), "EMEA".to_owned()])
    );
    let texts: Vec<_> = identity.prompts.iter().map(|p| p.value.clone()).collect();
    assert_eq!(
        texts,
        ["jdoe", "EMEA", "U1", "S1"].map(|t| PromptValue::Text(t.to_owned()))
    );
}

#[test]
fn identity_carries_the_verified_registered_claims() {
    let v = verifier_with(json!({"issuer": "https://idp.example.com"}));
    let token = hs256(&claims_with(json!({
        "iss": "https://idp.example.com", "jti": "a-1", "iat": NOW - 90
    })));
    let identity = accept(&v, &token, NOW);
    assert_eq!(identity.issuer.as_deref(), Some("https://idp.example.com"));
    assert_eq!(identity.subject.as_deref(), Some("jdoe"));
    assert_eq!(identity.token_id.as_deref(), Some("a-1"));
    let json = serde_json::to_value(&identity).unwrap();
    assert_eq!(json["issued_at"], rfc3339(NOW - 90));
    assert_eq!(json["token_id"], "a-1");
    assert_eq!(json["subject"], "jdoe");

    // Absent ones are null; a fractional iat keeps its fraction.
    let v = verifier_with(json!({"claims": {"user_id": "loginname"}}));
    let token =
        hs256(&json!({"loginname": "jdoe", "exp": NOW + 600, "iat": NOW as f64 - 0.5, "jti": 7}));
    let identity = accept(&v, &token, NOW);
    let json = serde_json::to_value(&identity).unwrap();
    assert_eq!(json["issuer"], serde_json::Value::Null);
    assert_eq!(json["subject"], serde_json::Value::Null);
    // A jti that is not a non-empty string is not a token ID.
    assert_eq!(json["token_id"], serde_json::Value::Null);
    assert_eq!(json["issued_at"], "2025-12-31T23:59:59.5Z");
    let token = hs256(&json!({"loginname": "jdoe", "exp": NOW + 600}));
    let json = serde_json::to_value(accept(&v, &token, NOW)).unwrap();
    assert_eq!(json["issued_at"], serde_json::Value::Null);
}

/// CONTRACT section 4: a user ID with a control character or leading or
/// trailing white space is `invalid_claim`.
#[test]
fn user_ids_with_control_characters_or_outer_white_space_are_refused() {
    let v = verifier(&base_config());
    for bad in [
        " jdoe",
        "jdoe ",
        "   ",
        "jd\noe",
        "jdoe\r",
        "\u{0}jdoe",
        "evil\u{1b}[31mRED",
        "jdoe\u{7f}",
        "jdoe\u{85}x",
        "\u{a0}jdoe",
        "jdoe\u{3000}",
        "\tjdoe",
    ] {
        let token = hs256(&claims_with(json!({"sub": bad})));
        let err = reject(&v, &token, NOW, ErrorKind::InvalidClaim);
        let message = err.to_string();
        assert!(message.contains("`sub`"), "{message}");
        assert!(!message.chars().any(char::is_control), "{message:?}");
    }
    // Inner spaces and non-ASCII letters are fine, and kept as sent.
    for good in ["Jane Doe", "josé", "JDOE", "a\u{a0}b"] {
        let token = hs256(&claims_with(json!({"sub": good})));
        assert_eq!(accept(&v, &token, NOW).user_id, good);
    }
}

/// `user_id_normalize: "lowercase"`: NFC, then lower case; `none` keeps the ID.
#[test]
fn user_id_normalize_lowercase_is_nfc_then_lower_case() {
    let v = verifier_with(json!({"user_id_normalize": "lowercase"}));
    let nfd = "Jose\u{301}"; // `e` + combining acute
    for (sent, mapped) in [
        ("JDoe", "jdoe"),
        ("jdoe", "jdoe"),
        (nfd, "jos\u{e9}"),
        ("JOS\u{c9}", "jos\u{e9}"),
        ("\u{212b}ngstr\u{f6}m", "\u{e5}ngstr\u{f6}m"), // Angstrom sign → NFC å
        ("STRASSE", "strasse"),
        ("\u{130}stanbul", "i\u{307}stanbul"),
    ] {
        let token = hs256(&claims_with(json!({"sub": sent})));
        assert_eq!(accept(&v, &token, NOW).user_id, mapped, "{sent:?}");
    }
    // Integers are unchanged; the hygiene rule still comes first.
    let token = hs256(&claims_with(json!({"sub": 4711})));
    assert_eq!(accept(&v, &token, NOW).user_id, "4711");
    let token = hs256(&claims_with(json!({"sub": " JDoe"})));
    reject(&v, &token, NOW, ErrorKind::InvalidClaim);
    // The default keeps NFD and case as sent.
    let plain = verifier(&base_config());
    let token = hs256(&claims_with(json!({"sub": nfd})));
    assert_eq!(accept(&plain, &token, NOW).user_id, nfd);
}

/// CONTRACT section 4 (issue 20): a user ID holding an invisible format
/// character (Unicode category Cf: zero-width characters, bidi controls,
/// tag characters) would make a lookalike account; it is `invalid_claim`,
/// whatever `user_id_normalize` says, and the message names the character
/// without holding it raw.
#[test]
fn user_ids_with_format_characters_are_refused() {
    let plain = verifier(&base_config());
    let lowercase = verifier_with(json!({"user_id_normalize": "lowercase"}));
    for (bad, code) in [
        ("jd\u{200b}oe", "U+200B"),          // zero width space
        ("jdoe\u{200d}", "U+200D"),          // zero width joiner
        ("\u{feff}jdoe", "U+FEFF"),          // zero width no-break space (BOM)
        ("admin\u{202e}nimda", "U+202E"),    // right-to-left override
        ("jdoe\u{2066}x\u{2069}", "U+2066"), // left-to-right isolate
        ("j\u{200e}doe", "U+200E"),          // left-to-right mark
        ("jdoe\u{e0041}", "U+E0041"),        // tag latin capital letter A
        ("jd\u{ad}oe", "U+00AD"),            // soft hyphen
        ("jd\u{2060}oe", "U+2060"),          // word joiner
    ] {
        for v in [&plain, &lowercase] {
            let token = hs256(&claims_with(json!({"sub": bad})));
            let err = reject(v, &token, NOW, ErrorKind::InvalidClaim);
            let message = err.to_string();
            assert!(message.contains("`sub`"), "{message}");
            assert!(
                message.contains(&format!("invisible format character {code}")),
                "{bad:?}: {message}"
            );
            assert!(
                !message.contains(bad),
                "the raw user ID is in the message: {message:?}"
            );
        }
    }
    // Visible non-ASCII user IDs stay accepted (letters, marks, symbols).
    for good in ["josé", "山田", "Zoë", "user@例え.jp", "a\u{301}b"] {
        let token = hs256(&claims_with(json!({"sub": good})));
        assert_eq!(accept(&plain, &token, NOW).user_id, good);
    }
}

/// `lowercase` and compatibility characters, pinned (README policy table):
/// NFC maps a character with a canonical singleton decomposition to its
/// target (U+212A KELVIN SIGN to `K`, U+2126 OHM SIGN to `Ω`), so those fold
/// into the ordinary letter; compatibility-only characters (fullwidth
/// letters, ligatures, circled letters: NFKC, not NFC) are kept and only
/// lower-cased, so they stay distinct user IDs.
#[test]
fn lowercase_folds_canonical_singletons_but_keeps_compatibility_characters() {
    let v = verifier_with(json!({"user_id_normalize": "lowercase"}));
    for (sent, mapped) in [
        ("\u{212a}elvin", "kelvin"),      // KELVIN SIGN → K → k
        ("\u{2126}mega", "\u{3c9}mega"),  // OHM SIGN → Ω → ω
        ("ＪＤＯＥ", "ｊｄｏｅ"),         // fullwidth: lower-cased, not ASCII
        ("\u{fb01}le", "\u{fb01}le"),     // ﬁ ligature: kept
        ("\u{24b6}dmin", "\u{24d0}dmin"), // Ⓐ → ⓐ, not a
        ("\u{2160}", "\u{2170}"),         // ROMAN NUMERAL ONE → small, not i
    ] {
        let token = hs256(&claims_with(json!({"sub": sent})));
        assert_eq!(accept(&v, &token, NOW).user_id, mapped, "{sent:?}");
    }
    // Without normalisation the Kelvin sign stays a user ID of its own.
    let plain = verifier(&base_config());
    let token = hs256(&claims_with(json!({"sub": "\u{212a}elvin"})));
    assert_eq!(accept(&plain, &token, NOW).user_id, "\u{212a}elvin");
}

//! Configuration loading: arbitrary text as JSON and as TOML. Whatever parses
//! must render, serialise and parse again; whatever validates builds a
//! verifier.

#![no_main]

use jwt_sso::{JwtConfig, ManualClock, UnixTime, Verifier};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for loaded in [
        JwtConfig::from_json_str(text),
        JwtConfig::from_toml_str(text),
    ] {
        match loaded {
            Ok(config) => {
                let _ = format!("{config:?}");
                // A time beyond what RFC 3339 writes cannot be serialised: an error, not a panic.
                let Ok(json) = config.to_json_string() else {
                    continue;
                };
                // What loaded once loads again from its own serialisation (floats
                // inside an inline JWK Set may move by one ulp, so no equality here).
                if let Err(e) = JwtConfig::from_json_str(&json) {
                    panic!("a loaded configuration does not load again: {e}\n{json}");
                }
                if let Ok(valid) = config.validate() {
                    let verifier = Verifier::new(valid)
                        .with_clock(ManualClock::new(UnixTime::from_secs(1_767_225_600)));
                    let _ = format!("{verifier:?}");
                    let _ = verifier.verify_cached("e30.e30.e30");
                }
            }
            Err(error) => {
                let _ = (
                    error.to_string(),
                    format!("{error:?}"),
                    error.hint(),
                    error.to_json(),
                );
            }
        }
    }
});

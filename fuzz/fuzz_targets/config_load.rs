//! Configuration loading: arbitrary text as JSON and as TOML. Whatever loads
//! must also build a verifier, render, serialise and load again.

#![no_main]

use jwt_sso::{JwtConfig, Verifier};
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
                let json = config.to_json_string();
                // What loaded once loads again from its own serialisation (floats
                // inside an inline JWK Set may move by one ulp, so no equality here).
                if let Err(e) = JwtConfig::from_json_str(&json) {
                    panic!("a loaded configuration does not load again: {e}\n{json}");
                }
                if let Ok(verifier) = Verifier::new(config) {
                    let _ = format!("{verifier:?}");
                    let _ = verifier.verify_at("e30.e30.e30", 1_767_225_600);
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

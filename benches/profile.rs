//! Allocations and instruction counts per verification, for the peers of
//! `benches/verify.rs` (same tokens and keys; see `support/peers.rs`).
//!
//! - `cargo bench --bench profile -- allocs`: heap allocations (and bytes)
//!   per verification, for every library and algorithm, counted by a global
//!   allocator that wraps the system one.
//! - `cargo bench --bench profile -- run LIBRARY ALG N`: N verifications of
//!   the case's tokens in turn, nothing else timed or printed; for a
//!   profiler. Instructions per verification with valgrind:
//!   `valgrind --tool=callgrind <bench binary> run jwt_sso HS256 N` for N = 0
//!   and N = 2560, the difference of the totals divided by 2560.

use std::sync::atomic::Ordering;

#[path = "support/peers.rs"]
mod peers;

use peers::{ALGORITHMS, TOKENS, case, install_providers};

#[path = "support/counting.rs"]
mod counting;

use counting::{ALLOCATIONS, BYTES};

fn allocs() {
    install_providers();
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    for alg in ALGORITHMS {
        let case = case(alg);
        for (name, verify) in case.libraries() {
            verify(0); // anything lazily initialised, once
            let (a, b) = (
                ALLOCATIONS.load(Ordering::Relaxed),
                BYTES.load(Ordering::Relaxed),
            );
            (0..TOKENS).for_each(&verify);
            let allocations = (ALLOCATIONS.load(Ordering::Relaxed) - a) as f64 / TOKENS as f64;
            let bytes = (BYTES.load(Ordering::Relaxed) - b) as f64 / TOKENS as f64;
            let cell = format!("{allocations:.1} ({bytes:.0} B)");
            match rows.iter_mut().find(|(n, _)| n == name) {
                Some((_, row)) => row.push(cell),
                None => rows.push((name.to_owned(), vec![cell])),
            }
        }
    }
    let names: Vec<&str> = ALGORITHMS.iter().map(|a| a.as_str()).collect();
    println!("| allocations per verification | {} |", names.join(" | "));
    println!("|---|{}", "---:|".repeat(names.len()));
    for (name, row) in rows {
        println!("| {name} | {} |", row.join(" | "));
    }
}

fn run(library: &str, alg: &str, n: usize) {
    install_providers();
    let alg = ALGORITHMS
        .into_iter()
        .find(|a| a.as_str() == alg)
        .unwrap_or_else(|| panic!("no case for {alg}"));
    let case = case(alg);
    let libraries = case.libraries();
    let (_, verify) = libraries
        .iter()
        .find(|(name, _)| *name == library)
        .unwrap_or_else(|| panic!("no library {library}"));
    (0..n).for_each(|i| verify(i % TOKENS));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["allocs", ..] => allocs(),
        ["run", library, alg, n, ..] => run(library, alg, n.parse().expect("a count")),
        // `cargo bench` without arguments for this target: nothing to time.
        _ => eprintln!("usage: profile allocs | profile run LIBRARY ALG N"),
    }
}

//! The SQL store on SQLite (a real file in a temporary directory): a session
//! read, a user read and a used-`jti` record, each one store operation with
//! what the store adds around the query (the file identity check, the
//! writers' places, the timeout); and the file check's `stat` alone.
//!
//! Run: `cargo bench --bench sql --features sqlite` (short: `-- --warm-up-time 1 --measurement-time 3`).

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use jwt_sso::{JtiKey, ReplayStore, Session, SessionStore, SqlStore, User, UserStore};

const NOW: i64 = 1_767_225_600;

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("jwt-sso-bench-sql-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bench.sqlite");
    let store = runtime
        .block_on(SqlStore::open(file.to_str().unwrap()))
        .unwrap();
    let user = User {
        user_id: "jdoe".into(),
        user_type: "reader".into(),
        roles: vec!["Viewer".into()],
        name: Some("Jane Doe".into()),
        email: None,
        created_by_config: Some("ERP".into()),
    };
    runtime.block_on(store.create(&user)).unwrap();
    let session = Session {
        user_id: "jdoe".into(),
        config: "ERP".into(),
        created_at: NOW,
        expires_at: NOW + 86_400,
    };
    runtime
        .block_on(store.insert("bench-session", &session, 20))
        .unwrap();

    let mut group = c.benchmark_group("sqlite");
    group.bench_function("session get", |b| {
        b.iter(|| {
            runtime
                .block_on(store.get(black_box("bench-session"), NOW))
                .unwrap()
        })
    });
    group.bench_function("user find", |b| {
        b.iter(|| {
            runtime
                .block_on(UserStore::find(&store, black_box("jdoe")))
                .unwrap()
        })
    });
    let n = AtomicU64::new(0);
    group.bench_function("jti record", |b| {
        b.iter(|| {
            let jti = format!("jti-{}", n.fetch_add(1, Ordering::Relaxed));
            let key = JtiKey {
                config: "ERP",
                issuer: "https://idp.example.com",
                jti: &jti,
            };
            runtime.block_on(store.record(key, NOW + 60, NOW)).unwrap()
        })
    });
    // What the store adds before every operation to notice a deleted or
    // replaced file: one `stat` of the database file.
    let path = std::fs::canonicalize(&file).unwrap();
    group.bench_function("file stat", |b| {
        b.iter(|| std::fs::metadata(black_box(&path)).unwrap())
    });
    group.finish();
    runtime.block_on(store.close());
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);

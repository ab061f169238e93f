//! The PostgreSQL harness: a throwaway server takes a table and a query
//! through its URL, and once dropped it no longer listens, its processes
//! are gone and its scratch directory is removed.

use bugyo_testdata::postgres::{self, Postgres};
use std::net::TcpStream;
use std::process::Command;

#[test]
fn starts_answers_and_stops() {
    assert!(
        postgres::available(),
        "PostgreSQL is not installed (apt-get install postgresql)"
    );
    let pg = Postgres::start();
    let url = pg.url();
    let port = pg.port();
    assert_eq!(url, format!("postgres://bugyo@127.0.0.1:{port}/bugyo"));

    let out = Command::new(pg.program("psql"))
        .arg(&url)
        .args(["-X", "-v", "ON_ERROR_STOP=1", "-c"])
        .arg("create table t(x int); insert into t values (42); select x from t")
        .output()
        .expect("run psql");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "psql failed: {text}\n{}", pg.log());
    assert!(text.contains("42"), "no 42 in psql output: {text}");
    assert_eq!(pg.psql("select count(*) from t").trim(), "1");

    let pid = pg.pid().expect("postmaster.pid");
    drop(pg);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still accepts connections after drop"
    );
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "postgres (pid {pid}) still running after drop"
    );
}

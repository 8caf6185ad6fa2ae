//! `test-postgres start|stop`: lets `scripts/test` start the shared test PostgreSQL once before
//! the tests (exporting the printed URL as `SEKISHO_TEST_POSTGRES_URL`) and stop it afterwards.

use std::process::ExitCode;

fn main() -> ExitCode {
    let command = std::env::args().nth(1);
    let result = match command.as_deref() {
        Some("start") => {
            sekisho_testkit::start_test_postgres_for_a_run().map(|url| println!("{url}"))
        }
        Some("stop") => sekisho_testkit::stop_test_postgres(),
        _ => {
            eprintln!(
                "usage: test-postgres start|stop\n  \
                 start  start (or reuse) the test PostgreSQL, drop earlier runs' test databases,\n         and print its base URL\n  \
                 stop   stop it"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("test-postgres: {e:#}");
            ExitCode::FAILURE
        }
    }
}

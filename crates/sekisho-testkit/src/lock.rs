//! A cross-process lock made of a file created with `O_EXCL`.
//!
//! `cargo nextest` runs every test in its own process, so several processes may try to start the
//! shared PostgreSQL at the same moment. Creating a file with `create_new` either succeeds for
//! exactly one of them or fails with `AlreadyExists` for the others, on every file system, with
//! nothing but `std`. The holder removes the file when done; a crashed holder leaves it behind,
//! so a lock older than [`STALE_AFTER`] is taken to be abandoned and removed.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context};

/// A lock this old was left by a process that died: starting PostgreSQL takes seconds.
const STALE_AFTER: Duration = Duration::from_secs(60);
/// Give up waiting after this long: past the stale limit, so a dead holder is always cleared.
const GIVE_UP_AFTER: Duration = Duration::from_secs(90);
const POLL: Duration = Duration::from_millis(100);

/// Held while the lock file exists; dropping it removes the file.
#[derive(Debug)]
pub(crate) struct FileLock {
    path: PathBuf,
}

impl FileLock {
    /// Creates `path`, waiting (bounded) while another process holds it.
    #[allow(
        clippy::disallowed_methods,
        reason = "waits for another test process in real time, bounded by the wall clock"
    )]
    pub(crate) fn acquire(path: &Path) -> anyhow::Result<Self> {
        let started = Instant::now();
        loop {
            match OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(mut file) => {
                    // The pid is only for a human looking at a stuck lock.
                    let _ = writeln!(file, "{}", std::process::id());
                    return Ok(Self {
                        path: path.to_path_buf(),
                    });
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    if is_stale(path) {
                        // Another waiter may remove it first; either way it is gone.
                        let _ = std::fs::remove_file(path);
                        continue;
                    }
                    if started.elapsed() > GIVE_UP_AFTER {
                        bail!(
                            "timed out after {:?} waiting for the lock {} (remove it if no test is running)",
                            GIVE_UP_AFTER,
                            path.display()
                        );
                    }
                    sleep(POLL);
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("creating lock file {}", path.display()))
                }
            }
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[allow(
    clippy::disallowed_methods,
    reason = "a lock file's age is wall time: its mtime is the file system's clock"
)]
fn is_stale(path: &Path) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        .is_some_and(|age| age > STALE_AFTER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(
        clippy::disallowed_methods,
        reason = "measures how long a real process waited for the lock"
    )]
    fn second_holder_waits_until_the_first_lets_go() {
        let dir = crate::target_dir().join("test-lock");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{}.lock", crate::unique_name("t")));

        let first = FileLock::acquire(&path).unwrap();
        let path2 = path.clone();
        let waiter = std::thread::spawn(move || {
            let t = Instant::now();
            let _second = FileLock::acquire(&path2).unwrap();
            t.elapsed()
        });
        sleep(Duration::from_millis(300));
        drop(first);
        let waited = waiter.join().unwrap();
        assert!(waited >= Duration::from_millis(250), "{waited:?}");
        assert!(!path.exists(), "the lock file is removed on drop");
    }
}

//! A real SMTP server for tests: `aiosmtpd` (PyPI) writing every mail it accepts into a maildir.
//!
//! Each [`SmtpSink`] is its own server process on its own loopback port with its own maildir
//! under `{target}/test-smtp/`, so tests run in parallel without seeing each other's mail. The
//! process is killed when the sink is dropped. `scripts/test` installs aiosmtpd from
//! `tests/requirements.txt`.
//!
//! aiosmtpd's `Mailbox` handler stores the mail before it answers `250` to the end of DATA, so
//! once a client's send has returned, the mail is already in [`SmtpSink::messages`]: no waiting.

use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context};
use mail_parser::{Address, MessageParser};

use crate::{target_dir, unique_name};

/// The interpreter that runs aiosmtpd.
const PYTHON: &str = "python3";
/// Longest wait for a starting server to accept connections (Python start-up is well under 1 s).
// Only an upper bound: peers start in about a second on an idle machine, but the whole suite on
// two cores once kept an oidc-provider from printing its ready line for over 30 s.
const READY_WITHIN: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(50);
/// Ports tried at start: the free port picked may be taken by another process before the server
/// binds it.
const START_ATTEMPTS: usize = 3;

/// One mail as the sink received it, decoded: RFC 2047 words in headers, base64 or
/// quoted-printable bodies, charsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The `To` addresses, comma-separated.
    pub to: String,
    /// The `From` address (without its display name; see `raw` for that).
    pub from: String,
    pub subject: String,
    /// The first text/plain body.
    pub body: String,
    /// The message as stored, headers included (aiosmtpd adds `X-Peer`, `X-MailFrom`, `X-RcptTo`).
    pub raw: String,
}

/// A running aiosmtpd on 127.0.0.1, killed on drop.
#[derive(Debug)]
pub struct SmtpSink {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl SmtpSink {
    /// Starts a sink on a free loopback port with an empty maildir, and waits until it accepts.
    pub fn start() -> anyhow::Result<Self> {
        check_aiosmtpd()?;
        let dir = target_dir().join("test-smtp").join(unique_name("sink"));
        // Python's Maildir makes tmp/, new/ and cur/ only when it creates the maildir itself.
        for sub in ["tmp", "new", "cur"] {
            let path = dir.join("maildir").join(sub);
            fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        }
        let mut errors = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let mut sink = Self {
                port: free_loopback_port()?,
                dir: dir.clone(),
                child: None,
            };
            match sink.launch() {
                Ok(()) => return Ok(sink),
                Err(e) => errors.push(format!("port {}: {e:#}", sink.port)),
            }
        }
        bail!("could not start the SMTP sink:\n{}", errors.join("\n"))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp://127.0.0.1:PORT`: plain SMTP, no authentication.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The folder aiosmtpd delivers into (`new/` holds the mails).
    pub fn maildir(&self) -> PathBuf {
        self.dir.join("maildir")
    }

    /// Kills the server: connections to its port are refused until [`Self::restart`].
    pub fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            // Already exited is fine: the point is that nothing listens any more.
            let _ = child.kill();
            child.wait().context("waiting for the SMTP sink to exit")?;
        }
        Ok(())
    }

    /// Starts the server again on the same port and maildir (the mail received so far stays).
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop()?;
        self.launch()
    }

    /// Every mail received so far, oldest first.
    pub fn messages(&self) -> anyhow::Result<Vec<ReceivedMail>> {
        let mut files = Vec::new();
        for sub in ["new", "cur"] {
            let dir = self.maildir().join(sub);
            let entries =
                fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?;
            for entry in entries {
                let path = entry?.path();
                let modified = fs::metadata(&path)?
                    .modified()
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                files.push((modified, path));
            }
        }
        // Maildir names start with the delivery time, so they break ties in modification time.
        files.sort();
        files.iter().map(|(_, path)| parse_file(path)).collect()
    }

    #[allow(
        clippy::disallowed_methods,
        reason = "waits (bounded, in real time) for the aiosmtpd process to listen"
    )]
    fn launch(&mut self) -> anyhow::Result<()> {
        let log = fs::File::create(self.log_file())
            .with_context(|| format!("creating {}", self.log_file().display()))?;
        let mut child = Command::new(PYTHON)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(self.maildir())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("running {PYTHON} -m aiosmtpd"))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "aiosmtpd exited at start ({status}):\n{}",
                    fs::read_to_string(self.log_file())
                        .unwrap_or_default()
                        .trim_end()
                );
            }
            if TcpStream::connect_timeout(&addr, POLL).is_ok() {
                self.child = Some(child);
                return Ok(());
            }
            if started.elapsed() > READY_WITHIN {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "aiosmtpd did not accept connections on {addr} within {READY_WITHIN:?} (log: {})",
                    self.log_file().display()
                );
            }
            sleep(POLL);
        }
    }

    fn log_file(&self) -> PathBuf {
        self.dir.join("aiosmtpd.log")
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn check_aiosmtpd() -> anyhow::Result<()> {
    let out = Command::new(PYTHON)
        .args(["-c", "import aiosmtpd"])
        .stdin(Stdio::null())
        .output();
    match out {
        Ok(out) if out.status.success() => Ok(()),
        Ok(_) => bail!(
            "the Python package aiosmtpd is not installed: run scripts/test, it installs aiosmtpd \
             (or: {PYTHON} -m pip install -r tests/requirements.txt)"
        ),
        Err(e) => bail!("cannot run {PYTHON} ({e}): the SMTP sink needs Python 3 with aiosmtpd; run scripts/test, it installs aiosmtpd"),
    }
}

fn free_loopback_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

fn parse_file(path: &Path) -> anyhow::Result<ReceivedMail> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&bytes).with_context(|| format!("parsing {}", path.display()))
}

/// Decodes one stored mail; public to the crate's tests through [`SmtpSink::messages`] only.
fn parse(bytes: &[u8]) -> anyhow::Result<ReceivedMail> {
    let message = MessageParser::default()
        .parse(bytes)
        .context("not a mail message")?;
    Ok(ReceivedMail {
        to: addresses(message.to()),
        from: addresses(message.from()),
        subject: message.subject().unwrap_or_default().to_owned(),
        body: message
            .body_text(0)
            .map(|b| b.into_owned())
            .unwrap_or_default(),
        raw: String::from_utf8_lossy(bytes).into_owned(),
    })
}

fn addresses(header: Option<&Address>) -> String {
    header
        .map(|a| {
            a.iter()
                .filter_map(|addr| addr.address())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};

    /// A minimal SMTP client, so this crate tests its sink without the crates under test.
    fn send(port: u16, raw_message: &str) -> anyhow::Result<()> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut writer = stream;
        let mut expect = |code: &str| -> anyhow::Result<()> {
            loop {
                let mut line = String::new();
                reader.read_line(&mut line)?;
                anyhow::ensure!(line.starts_with(code), "expected {code}, got {line:?}");
                if line.as_bytes().get(3) != Some(&b'-') {
                    return Ok(());
                }
            }
        };
        expect("220")?;
        for (command, code) in [
            ("EHLO test.local", "250"),
            ("MAIL FROM:<noreply@vx5.example>", "250"),
            ("RCPT TO:<taro@example.jp>", "250"),
            ("DATA", "354"),
        ] {
            write!(writer, "{command}\r\n")?;
            expect(code)?;
        }
        write!(writer, "{raw_message}\r\n.\r\n")?;
        expect("250")?;
        write!(writer, "QUIT\r\n")?;
        Ok(())
    }

    const ENCODED: &str = "From: =?utf-8?b?T1Tjgq/jg6njgqbjg4k=?= <noreply@vx5.example>\r\n\
        To: taro@example.jp\r\n\
        Subject: =?utf-8?b?44CQT1Tjgq/jg6njgqbjg4njg7vjgrnjg4jjg6zjg7zjgrjjgJHjgqLjgqvjgqbjg7Pjg4jjg63jg4Pjgq8=?=\r\n\
        MIME-Version: 1.0\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\
        Content-Transfer-Encoding: base64\r\n\
        \r\n\
        5bGx55Sw5qeYCg==";

    #[test]
    fn received_mail_is_decoded() {
        let mail = parse(ENCODED.as_bytes()).unwrap();
        assert_eq!(mail.subject, "【OTクラウド・ストレージ】アカウントロック");
        assert_eq!(mail.from, "noreply@vx5.example");
        assert_eq!(mail.to, "taro@example.jp");
        assert_eq!(mail.body.trim_end(), "山田様");
    }

    /// Starts the real aiosmtpd (needs `scripts/test`'s Python packages).
    #[test]
    fn sink_receives_stops_and_restarts_on_the_same_port() {
        let mut sink = SmtpSink::start().expect("SMTP sink");
        assert!(sink.url().ends_with(&format!(":{}", sink.port())));
        assert!(sink.messages().unwrap().is_empty());
        send(sink.port(), ENCODED).unwrap();
        let mails = sink.messages().unwrap();
        assert_eq!(mails.len(), 1);
        assert_eq!(
            mails[0].subject,
            "【OTクラウド・ストレージ】アカウントロック"
        );
        assert!(mails[0].raw.contains("X-RcptTo: taro@example.jp"));

        let port = sink.port();
        sink.stop().unwrap();
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "stopped");
        sink.restart().unwrap();
        assert_eq!(sink.port(), port);
        send(port, ENCODED).unwrap();
        assert_eq!(
            sink.messages().unwrap().len(),
            2,
            "same maildir after restart"
        );
    }
}

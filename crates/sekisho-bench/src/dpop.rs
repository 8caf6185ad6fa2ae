//! DPoP-bound token rows (issue 18): the same client_credentials and refresh loads as the unbound
//! rows, each request with a DPoP proof. A proof is a signature over a unique `jti`, which wrk's
//! Lua cannot make, so the proofs are signed here beforehand (one ES256 key, the wall clock's
//! `iat`: they stay valid for the server's 300 s window) and each request takes the next one.

use crate::wrk::{self, WrkResult};
use josekit::jws::{JwsHeader, ES256};
use josekit::jwt::JwtPayload;
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;

/// Writes `n` proofs for `POST url`, one per line (each followed by ` ` and the line of `pair`
/// when given: the refresh token the proof goes with).
pub fn write_proofs(path: &Path, url: &str, n: usize, pair: Option<&Path>) -> anyhow::Result<()> {
    let key = ES256.generate_key_pair()?;
    let signer = ES256.signer_from_jwk(&key.to_jwk_key_pair())?;
    let mut header = JwsHeader::new();
    header.set_token_type("dpop+jwt");
    header.set_claim(
        "jwk",
        Some(Value::Object(key.to_jwk_public_key().as_ref().clone())),
    )?;
    #[allow(clippy::disallowed_methods)] // the proofs' iat is the server's wall clock
    let iat = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let paired: Vec<String> = match pair {
        Some(p) => std::fs::read_to_string(p)?
            .lines()
            .map(str::to_owned)
            .collect(),
        None => Vec::new(),
    };
    let n = if pair.is_some() {
        n.min(paired.len())
    } else {
        n
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for i in 0..n {
        let mut p = JwtPayload::new();
        p.set_jwt_id(format!("bench-{i}"));
        p.set_claim("htm", Some(json!("POST")))?;
        p.set_claim("htu", Some(json!(url)))?;
        p.set_claim("iat", Some(json!(iat)))?;
        let proof = josekit::jwt::encode_with_signer(&p, &header, &signer)?;
        match paired.get(i) {
            Some(token) => writeln!(out, "{proof} {token}")?,
            None => writeln!(out, "{proof}")?,
        }
    }
    Ok(())
}

/// A wrk script: each request takes the next line of the proofs file, sends its proof as `DPoP`,
/// and `body` followed by the line's second word (the refresh token) if it has one.
pub fn script(basic: &str, body: &str) -> String {
    wrk::per_line_script(basic, body, true)
}

/// Runs a DPoP load of `connections` for `secs` against `url` over the lines of `file`.
pub fn run(
    url: &str,
    connections: u32,
    secs: u32,
    script_path: &Path,
    file: &Path,
) -> anyhow::Result<WrkResult> {
    wrk::run(
        url,
        connections,
        secs,
        Some((script_path, &[file.display().to_string(), "2".into()])),
    )
}

/// The DPoP rows: client_credentials (as many proofs as `cc_rps` needs for `secs`, and a third
/// more) and refresh (one proof per token of `tokens`) at `issuer`; the Basic credentials of the
/// service client and of the RP. Returns (client_credentials, refresh).
pub fn measure(
    issuer: &str,
    dir: &Path,
    (cc_basic, rp_basic): (&str, &str),
    cc_rps: f64,
    secs: u32,
    (tokens, refresh_secs): (&Path, u32),
) -> anyhow::Result<(WrkResult, WrkResult)> {
    let url = format!("{issuer}/token");
    let cc_proofs = dir.join("dpop_cc.txt");
    write_proofs(
        &cc_proofs,
        &url,
        (cc_rps * f64::from(secs) * 1.35) as usize + 1000,
        None,
    )?;
    let cc_lua = dir.join("dpop_cc.lua");
    std::fs::write(&cc_lua, script(cc_basic, "grant_type=client_credentials"))?;
    let cc = run(&url, 32, secs, &cc_lua, &cc_proofs)?;
    let rt_proofs = dir.join("dpop_refresh.txt");
    write_proofs(&rt_proofs, &url, usize::MAX, Some(tokens))?;
    let rt_lua = dir.join("dpop_refresh.lua");
    std::fs::write(
        &rt_lua,
        script(rp_basic, "grant_type=refresh_token&refresh_token="),
    )?;
    let refresh = run(&url, 16, refresh_secs, &rt_lua, &rt_proofs)?;
    Ok((cc, refresh))
}

/// Splits the seeded refresh tokens in two files (halves): the unbound run spends the first,
/// the DPoP run the second.
pub fn split_tokens(all: &Path, first: &Path, second: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(all)?;
    let lines: Vec<&str> = text.lines().collect();
    let (a, b) = lines.split_at(lines.len() / 2);
    std::fs::write(first, a.join("\n") + "\n")?;
    std::fs::write(second, b.join("\n") + "\n")?;
    Ok(())
}

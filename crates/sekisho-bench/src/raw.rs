//! The raw limits of this machine, measured in the same run as the server: what one ES256 JWT and
//! one argon2id hash cost, on every core. The server's figures are read as ratios to these.

use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use josekit::jws::{JwsHeader, ES256};
use josekit::jwt::JwtPayload;
use std::time::{Duration, Instant};

/// Runs `work` on `threads` threads for `secs` seconds; returns operations per second (all threads).
fn rate(threads: usize, secs: f64, work: impl Fn() + Sync) -> f64 {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let total: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        work();
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("bench thread"))
            .sum()
    });
    total as f64 / started.elapsed().as_secs_f64()
}

/// ES256 JWTs signed per second: the same kind of payload as an access token.
pub fn es256_per_sec(threads: usize, secs: f64) -> anyhow::Result<f64> {
    let pair = ES256.generate_key_pair()?;
    let signer = ES256.signer_from_jwk(&josekit::jwk::KeyPair::to_jwk_key_pair(&pair))?;
    let mut header = JwsHeader::new();
    header.set_token_type("at+jwt");
    header.set_key_id("bench");
    let mut claims = serde_json::Map::new();
    for (k, v) in [
        ("iss", "http://127.0.0.1:8080/VX5"),
        ("sub", "cli_benchmark_client_000000"),
        ("aud", "cli_benchmark_client_000000"),
        ("client_id", "cli_benchmark_client_000000"),
        ("jti", "at_0123456789abcdefghijkl"),
        ("scope", "storage.read"),
    ] {
        claims.insert(k.into(), serde_json::json!(v));
    }
    claims.insert("iat".into(), serde_json::json!(1_800_000_000));
    claims.insert("exp".into(), serde_json::json!(1_800_000_900));
    let payload = JwtPayload::from_map(claims)?;
    Ok(rate(threads, secs, || {
        josekit::jwt::encode_with_signer(&payload, &header, &signer).expect("sign");
    }))
}

/// argon2id hashes per second with the given parameters (the server's configuration).
pub fn argon2_per_sec(
    threads: usize,
    secs: f64,
    m_kib: u32,
    t: u32,
    p: u32,
) -> anyhow::Result<f64> {
    let params = argon2::Params::new(m_kib, t, p, None).map_err(|e| anyhow::anyhow!("{e}"))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    Ok(rate(threads, secs, || {
        let salt = SaltString::generate(&mut OsRng);
        argon
            .hash_password(b"Bench-Passw0rd!", &salt)
            .expect("hash");
    }))
}

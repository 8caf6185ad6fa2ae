//! The load balancer in front of several Sekisho nodes: Debian's `nginx`, round robin, no sticky
//! sessions, as a production deployment's would be (issue 17).
//!
//! One plain-HTTP listener on 127.0.0.1 ([`LoadBalancer::url`]) passes every request to the next
//! node in turn (`upstream` with the default round robin, nothing keyed on the client), keeping
//! `Host` as the client sent it and adding `X-Forwarded-For` / `X-Forwarded-Proto`. Connections
//! to the nodes are kept alive (`keepalive`, HTTP/1.1), as a real balancer's are, so a load test
//! measures the nodes rather than connection set-up.
//!
//! When a node is down, nginx passes the request to the next one if it could not be sent
//! (`proxy_next_upstream error timeout`, nginx's default, never for a request already sent when
//! it is not idempotent: a POST in flight at a node's death fails with `502`, as it would in
//! production), and leaves the dead node out for `fail_timeout`.
//!
//! The access log (`access.log` in [`LoadBalancer::log_dir`]) records, for each request, the
//! node that answered it: [`LoadBalancer::requests_per_node`] counts them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use crate::nginx::{config_head, free_loopback_ports, Nginx};

/// A running nginx balancing over the nodes; stopped on drop.
#[derive(Debug)]
pub struct LoadBalancer {
    nginx: Nginx,
    port: u16,
}

impl LoadBalancer {
    /// Starts nginx on a free loopback port in front of `nodes` (which need not listen yet).
    /// Waits (bounded) until it accepts connections.
    pub fn start(nodes: &[SocketAddr]) -> anyhow::Result<Self> {
        anyhow::ensure!(!nodes.is_empty(), "a load balancer needs nodes");
        let mut port = 0;
        let nginx = Nginx::start("load-balancer", |dir| {
            port = free_loopback_ports(1)?[0];
            Ok((config(dir, port, nodes)?, vec![port]))
        })?;
        Ok(Self { nginx, port })
    }

    /// A free loopback port for a node to listen on, held by nobody now.
    pub fn free_port() -> anyhow::Result<u16> {
        Ok(free_loopback_ports(1)?[0])
    }

    /// `http://127.0.0.1:P` (no trailing slash): the balancer's listener.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The folder with `nginx.conf`, `access.log` and `error.log`.
    pub fn log_dir(&self) -> &Path {
        self.nginx.dir()
    }

    /// nginx's error log so far.
    pub fn error_log(&self) -> String {
        self.nginx.error_log()
    }

    /// How many requests each node (`127.0.0.1:port`) answered so far, from the access log. A
    /// request nginx tried on several nodes counts for each it reached.
    pub fn requests_per_node(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for line in self.nginx.access_log().lines() {
            let Some(upstreams) = line.split(" upstream=").nth(1) else {
                continue;
            };
            let upstreams = upstreams.split(' ').next().unwrap_or("");
            for node in upstreams.split(", ").filter(|n| *n != "-") {
                *counts.entry(node.to_owned()).or_insert(0) += 1;
            }
        }
        counts
    }
}

fn config(dir: &Path, port: u16, nodes: &[SocketAddr]) -> anyhow::Result<String> {
    let mut c = config_head(
        dir,
        "$remote_addr \"$request\" $status upstream=$upstream_addr \
         upstream_status=$upstream_status",
    )?;
    c.push_str("    upstream sekisho {\n");
    for node in nodes {
        // A node that refused a connection is left out for 2 s, then tried again.
        writeln!(c, "        server {node} max_fails=1 fail_timeout=2s;")?;
    }
    writeln!(
        c,
        r#"        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        server_name _;
        client_max_body_size 1m;
        location / {{
            proxy_pass http://sekisho;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
        }}
    }}
}}"#
    )?;
    Ok(c)
}

//! The real `credgate serve` binary as a child process: started, its listening address read
//! from its log, its log kept for inspection, and stopped by signal.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

pub struct Proc {
    pub child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

/// Removes ANSI colour sequences from a log line.
pub fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl Proc {
    /// Starts `credgate serve ARGS` and waits for its "credgate listening" log line.
    /// Panics with the log if it exits first.
    pub fn serve(args: &[&str], envs: &[(&str, &str)]) -> Proc {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_credgate"));
        cmd.arg("serve")
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel::<Option<SocketAddr>>();
        let log2 = log.clone();
        let reader = std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let line = plain(&line);
                // Logged before the start is announced, so a test that reads the log right
                // after `serve` returns sees the listening line.
                {
                    let mut l = log2.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
                if !sent && line.contains("credgate listening") {
                    let addr = line
                        .split("addr=")
                        .nth(1)
                        .and_then(|s| s.split_whitespace().next())
                        .and_then(|s| s.parse().ok());
                    let _ = tx.send(addr);
                    sent = true;
                }
            }
            if !sent {
                let _ = tx.send(None);
            }
        });
        match rx.recv().unwrap() {
            Some(addr) => Proc {
                child,
                addr,
                log,
                reader: Some(reader),
            },
            None => {
                let _ = child.wait();
                let _ = reader.join();
                panic!("credgate serve did not start:\n{}", log.lock().unwrap());
            }
        }
    }

    /// The address to connect to (a wildcard listen address is reached over loopback).
    pub fn connect_addr(&self) -> SocketAddr {
        let mut a = self.addr;
        if a.ip().is_unspecified() {
            a.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        a
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    /// Sends `sig` and waits for the process to end; returns its log.
    pub fn stop(mut self, sig: &str) -> (std::process::ExitStatus, String) {
        self.signal(sig);
        let status = self.child.wait().unwrap();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        let log = self.log.lock().unwrap().clone();
        (status, log)
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! `portplan listen` under a small open-file limit, on loopback (no root): the child process gets a
//! lowered RLIMIT_NOFILE before it starts (or while it runs), and the tests check that it reports
//! what it could not open and exits 2, holds its per-peer and total connection caps, and does not
//! spin in its accept loop when descriptors run out.
//!
//! The topology is the reference design with the Edge's perimeter addresses moved into 127/8 (every
//! such address answers on `lo`), and clients dial from their own 127.84.x.y addresses, so each
//! source is a distinct peer.

// rlim_t is u64 on Linux; the casts keep the code right where it is not
#![allow(clippy::unnecessary_cast)]

mod common;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The reference topology on loopback, with the OCS 2007 federation media ranges (about 20,000
/// sockets on `edge01` with `--full-ranges`); the Edge's addresses are `127.<net>.113.x` and
/// `127.<net>.33.x`, a `net` per test, so tests running at once do not share sockets.
fn loopback_topology(dir: &std::path::Path, net: u8) -> String {
    let text = common::read(&common::example("reference.toml"))
        .replace("203.0.113.", &format!("127.{net}.113."))
        .replace("172.25.33.", &format!("127.{net}.33."))
        .replace("ocs2007-federation = false", "ocs2007-federation = true");
    let path = dir.join("loopback.toml");
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

fn set_nofile(pid: libc::pid_t, soft: u64, hard: u64) -> std::io::Result<()> {
    let r = libc::rlimit {
        rlim_cur: soft as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    };
    // SAFETY: prlimit reads the struct it is given and writes nothing (old limit pointer is null).
    if unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, &r, std::ptr::null_mut()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// `portplan listen` with its open-file limit set to `nofile` (soft and hard) before it starts.
fn listen_with_limit(args: &[&str], nofile: u64) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_portplan"));
    c.arg("listen").args(args).env("NO_COLOR", "1");
    // SAFETY: the hook only calls setrlimit, which is async-signal-safe.
    unsafe {
        c.pre_exec(move || {
            let r = libc::rlimit {
                rlim_cur: nofile as libc::rlim_t,
                rlim_max: nofile as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &r) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    c
}

/// Lets this test process open the client sockets of a flood.
fn raise_own_limit(need: u64) {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only the struct.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) }, 0);
    let hard = r.rlim_max as u64;
    assert!(
        hard >= need,
        "the flood needs {need} descriptors in the test process; hard limit {hard}"
    );
    if (r.rlim_cur as u64) < need {
        set_nofile(0, need, hard).unwrap();
    }
}

/// A running listener: its stdout lines arrive on a channel.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    fn start(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    /// The first line containing `needle`, or a failure with what came instead.
    fn wait_for(&mut self, needle: &str, timeout: Duration) -> String {
        let until = Instant::now() + timeout;
        let mut seen = Vec::new();
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(line) => seen.push(line),
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let mut err = String::new();
                    if let Some(mut e) = self.child.stderr.take() {
                        let _ = e.read_to_string(&mut err);
                    }
                    panic!(
                        "listener ended before `{needle}`:\n{}\n{err}",
                        seen.join("\n")
                    );
                }
            }
        }
        panic!("no `{needle}` within {timeout:?}:\n{}", seen.join("\n"));
    }

    fn pid(&self) -> libc::pid_t {
        self.child.id() as libc::pid_t
    }

    /// CPU time (user + system) the process has used so far.
    fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap();
        // the fields after the command name: state is field 3, utime 14, stime 15
        let rest: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..]
            .split_whitespace()
            .collect();
        let ticks: u64 = rest[11].parse::<u64>().unwrap() + rest[12].parse::<u64>().unwrap();
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
        Duration::from_millis(ticks * 1000 / hz)
    }

    /// Asks it to stop (SIGTERM) and returns its closing counters line.
    fn stop(mut self) -> String {
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(self.pid(), libc::SIGTERM) };
        let line = self.wait_for("stopped:", Duration::from_secs(20));
        let _ = self.child.wait();
        line
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The number before `label` in a line ("…, 24 refused by the per-peer cap, …").
fn count_before(line: &str, label: &str) -> usize {
    let at = line
        .find(label)
        .unwrap_or_else(|| panic!("no `{label}` in {line}"));
    line[..at]
        .trim_end()
        .rsplit(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count before `{label}` in {line}"))
}

/// A TCP connection from `src` (any port) to `dst`; `None` when it could not be made in time.
fn connect_from(src: Ipv4Addr, dst: SocketAddr) -> Option<Socket> {
    let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).ok()?;
    s.bind(&SockAddr::from(SocketAddr::new(IpAddr::V4(src), 0)))
        .ok()?;
    s.connect_timeout(&SockAddr::from(dst), Duration::from_millis(300))
        .ok()?;
    Some(s)
}

/// Whether the listener still holds the connection (nothing to read yet) rather than having
/// closed it (end of stream or reset).
fn held(s: &Socket) -> bool {
    s.set_nonblocking(true).unwrap();
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 1];
    match s.recv(&mut buf) {
        Ok(_) => false,
        Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
    }
}

fn wait_exit(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let until = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < until,
            "listen kept running though it could not open its sockets"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn full_ranges_short_of_descriptors_exits_2_and_counts_what_it_bound() {
    let dir = tempfile::tempdir().unwrap();
    let topo = loopback_topology(dir.path(), 81);
    let mut child = listen_with_limit(&[&topo, "--host", "edge01", "--full-ranges"], 256)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = wait_exit(&mut child, Duration::from_secs(120));
    assert_eq!(status.code(), Some(2), "{stdout}\n{stderr}");
    let planned = count_before(&stdout, "socket(s) from the plan");
    assert!(planned > 20_000, "{planned} sockets planned");
    let opened = count_before(&stderr, "of ");
    assert!(
        stderr.contains(&format!("of {planned} socket(s)")),
        "{stderr}"
    );
    let short = count_before(&stderr, "could not be opened for want of file descriptors");
    // about the limit less what the process itself holds, and every socket accounted for
    assert!((200..256).contains(&opened), "opened {opened}: {stderr}");
    assert_eq!(opened + short, planned, "{stderr}");
    assert!(stderr.contains("RLIMIT_NOFILE is 256"), "{stderr}");
    assert!(
        stdout.contains("open-file limit: 256 (hard limit 256)"),
        "{stdout}"
    );
    // the failures are summarised by range, not listed socket by socket
    assert!(
        stdout.lines().count() < 60,
        "{} lines",
        stdout.lines().count()
    );
    assert!(
        stdout.contains("failed: no file descriptor left (open-file limit)"),
        "{stdout}"
    );
    assert!(!stdout.contains("listening on"), "{stdout}");
}

#[test]
fn sampled_ports_short_of_descriptors_exit_2_too() {
    let dir = tempfile::tempdir().unwrap();
    let topo = loopback_topology(dir.path(), 82);
    let out = listen_with_limit(&[&topo, "--host", "edge01"], 24)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains("RLIMIT_NOFILE is 24"), "{stderr}");
    let planned = count_before(&stdout, "socket(s) from the plan");
    let opened = count_before(&stderr, "of ");
    assert!(opened < planned, "{stderr}");
}

#[test]
fn sockets_that_fit_with_no_descriptor_left_for_connections_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let topo = loopback_topology(dir.path(), 87);
    // the sample's ~20 sockets fit in 40 descriptors, the reserve and a connection do not
    let out = listen_with_limit(&[&topo, "--host", "edge01"], 40)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("no file descriptor is left for a connection")
            && stderr.contains("RLIMIT_NOFILE is 40"),
        "{stderr}"
    );
    assert!(!stdout.contains("failed:"), "{stdout}");
}

#[test]
fn listen_raises_its_soft_limit_to_the_hard_limit() {
    let dir = tempfile::tempdir().unwrap();
    let topo = loopback_topology(dir.path(), 83);
    let mut cmd = listen_with_limit(&[&topo, "--host", "edge01"], 512);
    // soft 128 under a hard limit of 512: the listener lifts it
    // SAFETY: setrlimit only, after the hook above set both limits to 512.
    unsafe {
        cmd.pre_exec(|| {
            let r = libc::rlimit {
                rlim_cur: 128,
                rlim_max: 512,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &r) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut run = Running::start(cmd);
    let line = run.wait_for("open-file limit", Duration::from_secs(30));
    assert_eq!(
        line,
        "open-file limit: raised from 128 to 512 (hard limit 512)"
    );
    run.wait_for("listening on", Duration::from_secs(30));
    run.stop();
}

/// 150 sources with 16 connections each (and one source with 40) against a listener with 256
/// descriptors: the per-peer cap, then the total cap, hold; the process stays idle while the
/// connections are held.
#[test]
fn a_flood_of_150_sources_times_16_connections_stays_within_the_caps_and_idle() {
    raise_own_limit(3_000);
    let dir = tempfile::tempdir().unwrap();
    let topo = loopback_topology(dir.path(), 85);
    let mut run = Running::start(listen_with_limit(&[&topo, "--host", "edge01"], 256));
    let ready = run.wait_for("listening on", Duration::from_secs(60));
    let total_cap = count_before(&ready, "connection(s) at once");
    let per_peer = count_before(&ready, "per peer");
    assert_eq!(per_peer, 16, "{ready}");
    assert!(
        total_cap > 100 && total_cap < 256,
        "the total cap follows the descriptor budget: {ready}"
    );
    let sip: SocketAddr = "127.85.113.100:5061".parse().unwrap();

    // one source, 40 connections: 16 held, 24 closed at once
    let greedy: Vec<Socket> = (0..40)
        .filter_map(|_| connect_from(Ipv4Addr::new(127, 84, 0, 1), sip))
        .collect();
    assert_eq!(greedy.len(), 40);
    std::thread::sleep(Duration::from_millis(500));
    let kept = greedy.iter().filter(|s| held(s)).count();
    assert_eq!(kept, per_peer, "connections held for one source");

    // 150 sources x 16: the total cap stops them before the descriptors run out
    let before = run.cpu();
    let started = Instant::now();
    let mut flood = Vec::new();
    for source in 0..150u8 {
        for _ in 0..16 {
            if let Some(s) = connect_from(Ipv4Addr::new(127, 84, 1, source + 1), sip) {
                flood.push(s);
            }
        }
    }
    let connect_time = started.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    let flood_held = flood.iter().filter(|s| held(s)).count();
    assert!(
        kept + flood_held <= total_cap,
        "{kept} + {flood_held} held, cap {total_cap}"
    );
    assert!(
        kept + flood_held >= total_cap / 2,
        "the listener should still serve up to its cap: {kept} + {flood_held} of {total_cap}"
    );
    // quiet window: every place taken, connections waiting; the process must not spin
    let quiet_from = run.cpu();
    std::thread::sleep(Duration::from_secs(2));
    let quiet = run.cpu() - quiet_from;
    assert!(
        quiet < Duration::from_millis(200),
        "{quiet:?} CPU in 2 s with the caps reached"
    );
    let busy = quiet_from - before;
    eprintln!(
        "flood: {} connections made in {connect_time:?}, {flood_held} held (cap {total_cap}), \
         CPU {busy:?} while connecting, {quiet:?} in the 2 s after",
        flood.len()
    );
    let stopped = run.stop();
    assert!(
        count_before(&stopped, "refused by the per-peer cap") >= 24,
        "{stopped}"
    );
    assert!(count_before(&stopped, "by the total cap") > 0, "{stopped}");
    assert!(
        count_before(&stopped, "connection(s)") <= total_cap,
        "{stopped}"
    );
    drop(greedy);
}

/// The limit lowered under a running listener, below what its cap assumed: accepts fail with
/// EMFILE, and the loop pauses instead of retrying at once; once descriptors are back it serves.
#[test]
fn an_accept_loop_out_of_descriptors_backs_off_instead_of_spinning() {
    raise_own_limit(1_000);
    let dir = tempfile::tempdir().unwrap();
    let topo = loopback_topology(dir.path(), 86);
    let mut run = Running::start(listen_with_limit(&[&topo, "--host", "edge01"], 256));
    run.wait_for("listening on", Duration::from_secs(60));
    let open_now = std::fs::read_dir(format!("/proc/{}/fd", run.pid()))
        .unwrap()
        .count() as u64;
    // a few descriptors beyond what it holds, for the cap of ~200 it computed
    set_nofile(run.pid(), open_now + 4, 256).unwrap();
    let sip: SocketAddr = "127.86.113.100:5061".parse().unwrap();
    let mut clients = Vec::new();
    for source in 0..20u8 {
        for _ in 0..16 {
            if let Some(s) = connect_from(Ipv4Addr::new(127, 84, 2, source + 1), sip) {
                clients.push(s);
            }
        }
    }
    assert!(clients.len() > 8, "{} connections", clients.len());
    std::thread::sleep(Duration::from_millis(300));
    let from = run.cpu();
    std::thread::sleep(Duration::from_secs(2));
    let used = run.cpu() - from;
    assert!(
        used < Duration::from_millis(200),
        "{used:?} CPU in 2 s out of descriptors: the accept loop spins"
    );
    // descriptors back: the next connection is served within the longest back-off
    set_nofile(run.pid(), 256, 256).unwrap();
    drop(clients);
    let http: SocketAddr = "127.86.33.11:4443".parse().unwrap();
    let s = connect_from(Ipv4Addr::new(127, 84, 3, 1), http).expect("connects");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut stream: std::net::TcpStream = s.into();
    use std::io::Write;
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    let stopped = run.stop();
    eprintln!("{used:?} CPU in 2 s out of descriptors; {stopped}");
    assert!(
        count_before(&stopped, "accept pause(s) for want of descriptors") > 0,
        "{stopped}"
    );
}

/// A cold trial ran `listen --host dir01` on a machine that has none of dir01's addresses: it said
/// "listening on 0 of 8 socket(s)" and kept running. Nothing to serve is an error.
#[test]
fn listen_on_a_host_without_any_of_its_addresses_exits_2() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_portplan"))
        .args(["listen", "--host", "dir01"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("none of the"), "{err}");
}

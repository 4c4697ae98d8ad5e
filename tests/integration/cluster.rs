//! The throwaway server's lifecycle: it starts, serves, and leaves nothing behind.

use std::net::TcpStream;

#[test]
fn cluster_starts_on_loopback_and_cleans_up_on_drop() {
    let c = crate::support::own_cluster();
    let (port, dir) = (c.port(), c.dir().to_path_buf());
    let mut client = postgres::Client::connect(&c.url(), postgres::NoTls).unwrap();
    let addr: String = client
        .query_one("SELECT current_setting('listen_addresses')", &[])
        .unwrap()
        .get(0);
    assert_eq!(addr, "127.0.0.1");
    drop(client);
    c.restart().unwrap();
    let url = c.create_database("after_restart").unwrap();
    assert!(postgres::Client::connect(&url, postgres::NoTls).is_ok());
    drop(c);
    assert!(!dir.exists(), "data dir removed");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "server stopped"
    );
}

/// Starts `chunkload ARGS`, reads the URL of the first line it prints that contains
/// `ready`, and returns the child and the port.
fn start_binary(args: &[&str], ready: &str) -> (std::process::Child, u16) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_chunkload"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines
        .find_map(|l| {
            l.ok().filter(|l| l.contains(ready)).and_then(|l| {
                l.split_whitespace()
                    .find(|w| w.starts_with("postgres://"))
                    .map(|w| w.trim_end_matches(';').to_string())
            })
        })
        .expect("the URL is printed");
    let port = url
        .rsplit(':')
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        postgres::Client::connect(&url, postgres::NoTls).is_ok(),
        "server up at {url}"
    );
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, port)
}

fn wait_closed(port: u16) -> bool {
    (0..300).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        TcpStream::connect(("127.0.0.1", port)).is_err()
    })
}

#[test]
fn cluster_ctrl_c_on_demo_keep_stops_the_server() {
    // The demo prints its URL first, then runs the bank app and a load (a Ctrl-C then
    // interrupts them, exit 130): signal once it says it is only keeping the server.
    let (mut child, port) =
        start_binary(&["demo", "--keep", "--seed", "2"], "server kept running at");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "demo --keep ends cleanly on Ctrl-C: {status}"
    );
    assert!(wait_closed(port), "server stopped");
}

#[test]
fn cluster_sigkill_of_the_owner_leaves_no_orphan_server() {
    let (mut child, port) = start_binary(&["server"], "postgres://");
    child.kill().unwrap(); // SIGKILL: no destructor runs; the watchdog must clean up
    child.wait().unwrap();
    assert!(
        wait_closed(port),
        "the watchdog stopped the orphaned server"
    );
}

//! A real S3-compatible server for the `s3://` tests: moto's standalone server (PyPI's
//! `moto[server]`, installed by `.ci/run`) on 127.0.0.1 at a free port, one child process
//! per test, killed when the test drops it. Buckets and objects are made through its S3
//! API with presigned PUTs (the same signing crate as the loader); its request log
//! (werkzeug's, on stderr) tells the tests what was asked for.

use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The fake key pair every test signs with (moto accepts any).
pub const KEY_ID: &str = "AKIATESTCHUNKLOAD";
/// The secret: no output of the loader may hold it.
pub const SECRET: &str = "tOpS3cr3tK3yN0tT0B3Pr1nted";

/// A running moto server; dropping it kills it.
pub struct Moto {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Moto {
    /// Starts moto, waiting until it answers.
    pub fn start() -> Moto {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(dir.path().join("moto.log")).unwrap();
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("python3 -m moto.server (pip install 'moto[server]', as .ci/run does)");
        let mut m = Moto { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = m.child.try_wait().unwrap() {
                panic!("moto exited ({status}): {}", m.log());
            }
            assert!(Instant::now() < deadline, "moto did not listen in 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        m
    }

    /// The endpoint, as `AWS_ENDPOINT_URL` names it.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The request log so far (one line per request, query strings included).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("moto.log")).unwrap_or_default()
    }

    fn bucket(&self, name: &str) -> Bucket {
        let url = self.endpoint().parse().unwrap();
        Bucket::new(url, UrlStyle::Path, name.to_string(), "us-east-1").unwrap()
    }

    /// Creates bucket `name`.
    pub fn create_bucket(&self, name: &str) {
        let creds = Credentials::new(KEY_ID, SECRET);
        let url = self
            .bucket(name)
            .create_bucket(&creds)
            .sign(Duration::from_secs(600));
        ureq::put(url.as_str())
            .send_bytes(&[])
            .expect("create bucket");
    }

    /// Stores `data` as `s3://bucket/key`; returns that URL.
    pub fn put(&self, bucket: &str, key: &str, data: &[u8]) -> String {
        let creds = Credentials::new(KEY_ID, SECRET);
        let b = self.bucket(bucket);
        let url = b
            .put_object(Some(&creds), key)
            .sign(Duration::from_secs(600));
        ureq::put(url.as_str())
            .send_bytes(data)
            .expect("put object");
        format!("s3://{bucket}/{key}")
    }

    /// The object `s3://bucket/key`'s bytes.
    pub fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        let creds = Credentials::new(KEY_ID, SECRET);
        let url = self
            .bucket(bucket)
            .get_object(Some(&creds), key)
            .sign(Duration::from_secs(600));
        let mut body = Vec::new();
        std::io::Read::read_to_end(
            &mut ureq::get(url.as_str())
                .call()
                .expect("get object")
                .into_reader(),
            &mut body,
        )
        .unwrap();
        body
    }

    /// Every key of `bucket`, sorted (moto's listing, unsigned: it checks no keys).
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let url = format!("{}/{bucket}/?list-type=2", self.endpoint());
        let xml = ureq::get(&url).call().expect("list").into_string().unwrap();
        let page = rusty_s3::actions::ListObjectsV2::parse_response(&xml).unwrap();
        assert!(page.next_continuation_token.is_none(), "one page expected");
        let mut keys: Vec<String> = page.contents.into_iter().map(|c| c.key).collect();
        keys.sort();
        keys
    }

    /// The multipart uploads begun and neither completed nor aborted, as moto's
    /// ListMultipartUploads XML: `<Upload>` elements, one per upload.
    pub fn open_uploads(&self, bucket: &str) -> String {
        let url = format!("{}/{bucket}/?uploads", self.endpoint());
        ureq::get(&url)
            .call()
            .expect("uploads")
            .into_string()
            .unwrap()
    }

    /// The loader with `args`, its AWS settings pointing here (and nowhere else: no
    /// profile of the machine's user is read).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_chunkload"));
        c.args(args)
            .env_remove("DATABASE_URL")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL_S3")
            .env("AWS_CONFIG_FILE", self.dir.path().join("none"))
            .env("AWS_SHARED_CREDENTIALS_FILE", self.dir.path().join("none"))
            .env("AWS_ENDPOINT_URL", self.endpoint())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .stdin(Stdio::null());
        c
    }

    /// Runs the loader with `args` to its end.
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        self.command(args).output().expect("run chunkload")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

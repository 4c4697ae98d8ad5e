//! Real object-store emulators for the `az://` and `gs://` tests, each one child process
//! on 127.0.0.1 at a free port, killed when the test drops it, installed by `.ci/run`:
//! Azurite (npm `azurite`, Microsoft's Blob Storage emulator; telemetry off, so nothing
//! leaves loopback) and `gcp-storage-emulator` (PyPI). Objects are put through each
//! one's own API; Azurite checks the Shared Key and SAS signatures the loader sends.

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Azurite's development account and its well-known key (public, documented by
/// Microsoft): the tests treat the key as a secret no output may hold.
pub const ACCOUNT: &str = "devstoreaccount1";
pub const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// The bearer token the gs:// tests send (the emulator accepts any).
pub const TOKEN: &str = "ya29.tOpS3cr3tT0k3nN0tT0B3Pr1nted";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child server and its log; dropping it kills it.
pub struct Server {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Server {
    fn spawn(mut cmd: Command, port: u16, dir: tempfile::TempDir, what: &str) -> Server {
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{what} ({e}): install it as .ci/run does"));
        let mut s = Server { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = s.child.try_wait().unwrap() {
                panic!("{what} exited ({status}): {}", s.log());
            }
            assert!(Instant::now() < deadline, "{what} did not listen in 60 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        s
    }

    /// What the server printed so far (its request log).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// The loader with `args`, no database URL, stdin closed.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_chunkload"));
        c.args(args)
            .env_remove("DATABASE_URL")
            .env_remove("AZURE_STORAGE_CONNECTION_STRING")
            .env_remove("AZURE_STORAGE_ACCOUNT")
            .env_remove("AZURE_STORAGE_KEY")
            .env_remove("AZURE_STORAGE_SAS_TOKEN")
            .env_remove("STORAGE_EMULATOR_HOST")
            .env_remove("GOOGLE_OAUTH_ACCESS_TOKEN")
            .env_remove("CLOUDSDK_AUTH_ACCESS_TOKEN")
            .stdin(Stdio::null());
        c
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Azurite's blob service, in memory (it writes nothing but its log).
pub fn azurite() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cmd = Command::new("azurite-blob");
    cmd.args(["--blobHost", "127.0.0.1", "--blobPort"])
        .arg(port.to_string())
        .args([
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--inMemoryPersistence",
        ]);
    Server::spawn(cmd, port, dir, "azurite-blob (npm install -g azurite@3)")
}

/// The emulator's connection string, as Azure's tools take it, with blob endpoint
/// `endpoint` (Azurite, or a proxy in front of it) and `key`.
pub fn connection_string(endpoint: &str, key: &str) -> String {
    format!(
        "DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={key};\
         BlobEndpoint={endpoint}/{ACCOUNT};"
    )
}

fn shared_key(string_to_sign: &str) -> String {
    let key = base64::engine::general_purpose::STANDARD
        .decode(KEY)
        .unwrap();
    let mut mac = hmac::Hmac::<sha2_011::Sha256>::new_from_slice(&key).unwrap();
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// A PUT to Azurite with Shared Key (the layout of Microsoft's "Authorize with Shared
/// Key"), of a container (`query` `restype=container`) or a block blob.
fn azure_put(port: u16, path: &str, query: &str, body: &[u8]) {
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let len = if body.is_empty() {
        String::new()
    } else {
        body.len().to_string()
    };
    let blob = query.is_empty();
    let ms = if blob {
        format!("x-ms-blob-type:BlockBlob\nx-ms-date:{date}\nx-ms-version:2021-08-06\n")
    } else {
        format!("x-ms-date:{date}\nx-ms-version:2021-08-06\n")
    };
    let canon_query = query.replace('=', ":");
    let resource = format!("/{ACCOUNT}/{ACCOUNT}{path}");
    let resource = if blob {
        resource
    } else {
        format!("{resource}\n{canon_query}")
    };
    let sts = format!("PUT\n\n\n{len}\n\n\n\n\n\n\n\n\n{ms}{resource}");
    let sep = if query.is_empty() { "" } else { "?" };
    let url = format!("http://127.0.0.1:{port}/{ACCOUNT}{path}{sep}{query}");
    let mut req = ureq::put(&url)
        .set("x-ms-date", &date)
        .set("x-ms-version", "2021-08-06")
        .set(
            "Authorization",
            &format!("SharedKey {ACCOUNT}:{}", shared_key(&sts)),
        );
    if blob {
        req = req.set("x-ms-blob-type", "BlockBlob");
    }
    if let Err(e) = req.send_bytes(body) {
        panic!("PUT {url}: {e}");
    }
}

/// Creates container `name` in Azurite.
pub fn azure_container(az: &Server, name: &str) {
    azure_put(az.port, &format!("/{name}"), "restype=container", &[]);
}

/// Stores `data` as `az://container/blob`; returns that URL.
pub fn azure_blob(az: &Server, container: &str, blob: &str, data: &[u8]) -> String {
    azure_put(az.port, &format!("/{container}/{blob}"), "", data);
    format!("az://{container}/{blob}")
}

/// An account SAS (read and list, blobs only, until 2099) for the development
/// account, as Microsoft's "Create an account SAS" lays its string-to-sign out.
pub fn account_sas() -> String {
    let (sp, ss, srt, se, sv) = ("rl", "b", "sco", "2099-01-01T00:00:00Z", "2021-08-06");
    let sts = format!("{ACCOUNT}\n{sp}\n{ss}\n{srt}\n\n{se}\n\n\n{sv}\n\n");
    let sig = shared_key(&sts);
    let sig: String =
        percent_encoding::utf8_percent_encode(&sig, percent_encoding::NON_ALPHANUMERIC).to_string();
    format!(
        "sv={sv}&ss={ss}&srt={srt}&sp={sp}&se={}&sig={sig}",
        se.replace(':', "%3A")
    )
}

/// `gcp-storage-emulator`, in memory.
pub fn gcs() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cmd = Command::new("gcp-storage-emulator");
    cmd.args(["start", "-H", "127.0.0.1", "--port"])
        .arg(port.to_string())
        .arg("--in-memory")
        // Its request log is read by the tests: written line by line.
        .env("PYTHONUNBUFFERED", "1")
        .current_dir(dir.path());
    Server::spawn(
        cmd,
        port,
        dir,
        "gcp-storage-emulator (pip install gcp-storage-emulator)",
    )
}

/// Creates bucket `name` in the GCS emulator.
pub fn gcs_bucket(gs: &Server, name: &str) {
    let url = format!("http://127.0.0.1:{}/storage/v1/b?project=test", gs.port);
    ureq::post(&url)
        .set("Content-Type", "application/json")
        .send_string(&format!("{{\"name\":\"{name}\"}}"))
        .expect("create bucket");
}

/// Stores `data` as `gs://bucket/object` (a media upload); returns that URL.
pub fn gcs_object(gs: &Server, bucket: &str, object: &str, data: &[u8]) -> String {
    let name: String =
        percent_encoding::utf8_percent_encode(object, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    let url = format!(
        "http://127.0.0.1:{}/upload/storage/v1/b/{bucket}/o?uploadType=media&name={name}",
        gs.port
    );
    ureq::post(&url).send_bytes(data).expect("upload object");
    format!("gs://{bucket}/{object}")
}

/// A Shared Key GET of Azurite's `path` (from the container on) with `query` pairs:
/// the status and body.
fn azure_get_raw(port: u16, path: &str, query: &[(&str, &str)]) -> (u16, Vec<u8>) {
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let mut sorted: Vec<_> = query.to_vec();
    sorted.sort();
    let canon: String = sorted.iter().map(|(k, v)| format!("\n{k}:{v}")).collect();
    let sts = format!(
        "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:2021-08-06\n\
         /{ACCOUNT}/{ACCOUNT}{path}{canon}"
    );
    let q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let url = format!(
        "http://127.0.0.1:{port}/{ACCOUNT}{path}{}{}",
        if q.is_empty() { "" } else { "?" },
        q.join("&")
    );
    let got = ureq::get(&url)
        .set("x-ms-date", &date)
        .set("x-ms-version", "2021-08-06")
        .set(
            "Authorization",
            &format!("SharedKey {ACCOUNT}:{}", shared_key(&sts)),
        )
        .call();
    let resp = match got {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET {url}: {e}"),
    };
    let status = resp.status();
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut resp.into_reader(), &mut body).unwrap();
    (status, body)
}

/// The committed blob `container/blob`, or None.
pub fn azure_read(az: &Server, container: &str, blob: &str) -> Option<Vec<u8>> {
    match azure_get_raw(az.port, &format!("/{container}/{blob}"), &[]) {
        (200, body) => Some(body),
        (404, _) => None,
        (s, body) => panic!("GET {blob}: {s} {}", String::from_utf8_lossy(&body)),
    }
}

/// The names of the committed blobs of `container`, sorted (one page: tests hold few).
pub fn azure_names(az: &Server, container: &str) -> Vec<String> {
    let (status, body) = azure_get_raw(
        az.port,
        &format!("/{container}"),
        &[("comp", "list"), ("restype", "container")],
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let xml = String::from_utf8(body).unwrap();
    let mut names: Vec<String> = xml
        .split("<Name>")
        .skip(1)
        .filter_map(|s| s.split("</Name>").next().map(str::to_string))
        .collect();
    names.sort();
    names
}

/// The object `bucket/object` of the GCS emulator, or None.
pub fn gcs_read(gs: &Server, bucket: &str, object: &str) -> Option<Vec<u8>> {
    let name: String =
        percent_encoding::utf8_percent_encode(object, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    let url = format!(
        "http://127.0.0.1:{}/storage/v1/b/{bucket}/o/{name}?alt=media",
        gs.port
    );
    match ureq::get(&url).call() {
        Ok(r) => {
            let mut body = Vec::new();
            std::io::Read::read_to_end(&mut r.into_reader(), &mut body).unwrap();
            Some(body)
        }
        Err(ureq::Error::Status(404, _)) => None,
        Err(e) => panic!("GET {url}: {e}"),
    }
}

/// The names of the objects of `bucket`, sorted.
pub fn gcs_names(gs: &Server, bucket: &str) -> Vec<String> {
    let url = format!("http://127.0.0.1:{}/storage/v1/b/{bucket}/o", gs.port);
    let resp = ureq::get(&url).call().unwrap();
    let v: serde_json::Value = serde_json::from_reader(resp.into_reader()).unwrap();
    let mut names: Vec<String> = v["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| i["name"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

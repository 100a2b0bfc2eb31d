//! The embedded default database: a private PostgreSQL cluster run from the locally installed
//! server binaries in `SALESFUNNEL_DATA_DIR`, on a free loopback port, with a generated
//! password, stopped when the service stops. Also keeps the generated JWT secret.

use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use diesel::prelude::*;
use diesel::sql_types::Text;
use nix::fcntl::{Flock, FlockArg};
use nix::unistd::{Gid, Uid, User};
use rand::Rng;
use rand::distr::Alphanumeric;

const SUPERUSER: &str = "salesfunnel";
const DATABASE: &str = "salesfunnel";

/// A running private PostgreSQL; stopped on [`EmbeddedPostgres::stop`] or drop by the process
/// that started it, never by one that only attached to it.
pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    run_as: Option<(Uid, Gid)>,
    url: String,
    running: bool,
    /// The exclusive lock on `salesfunnel.lock` of the process that runs the cluster; released
    /// (by the kernel, also when it crashes) when that process ends.
    _owner: Option<Flock<fs::File>>,
}

/// What to do when another process already runs the cluster of the data folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// Refuse (`serve`: two servers on one embedded database would stop it under each other).
    Exclusive,
    /// Use the running cluster and leave it running (`migrate`, `seed`).
    Attach,
}

impl EmbeddedPostgres {
    /// Initialises (first time) and starts the cluster under `base`, and creates the database;
    /// or, when another process runs it, attaches to it or refuses as `sharing` says.
    pub fn start(base: &Path, sharing: Sharing) -> Result<Self, String> {
        let bin_dir = find_bin_dir()?;
        let run_as = unprivileged_user()?;
        fs::create_dir_all(base).map_err(|e| format!("cannot create data folder {}: {e}", base.display()))?;
        let base = base
            .canonicalize()
            .map_err(|e| format!("cannot resolve {}: {e}", base.display()))?;
        let data_dir = base.join("postgres");
        let lock_path = base.join("salesfunnel.lock");
        let lock_file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .read(true)
            .open(&lock_path)
            .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
        let owner = match Flock::lock(lock_file, FlockArg::LockExclusiveNonblock) {
            Ok(owner) => Some(owner),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => None,
            Err((_, e)) => return Err(format!("cannot lock {}: {e}", lock_path.display())),
        };
        let password = secret_file(&base.join("postgres.password"), 32)?;
        let Some(mut owner) = owner else {
            let holder = fs::read_to_string(&lock_path).unwrap_or_default();
            let holder = holder.trim();
            if sharing == Sharing::Exclusive {
                return Err(format!(
                    "another salesfunnel process ({holder}) runs the embedded database in {}; stop it \
                     first, or give this one its own SALESFUNNEL_DATA_DIR",
                    base.display()
                ));
            }
            let port = fs::read_to_string(base.join("postgres.port"))
                .ok()
                .and_then(|p| p.trim().parse::<u16>().ok())
                .ok_or_else(|| format!("the embedded database in {} has no port file", base.display()))?;
            log::info!("using the embedded PostgreSQL that {holder} runs, on port {port}");
            return Ok(Self {
                bin_dir,
                data_dir,
                run_as,
                url: format!("postgres://{SUPERUSER}:{password}@127.0.0.1:{port}/{DATABASE}"),
                running: false,
                _owner: None,
            });
        };
        let mut server = Self {
            bin_dir,
            data_dir,
            run_as,
            url: String::new(),
            running: false,
            _owner: None,
        };
        if !server.data_dir.join("PG_VERSION").exists() {
            server.init(&base, &password)?;
        }
        let port = server.start_server(&base)?;
        server.running = true;
        owner
            .set_len(0)
            .and_then(|()| write!(&mut *owner, "pid {} on port {port}", std::process::id()))
            .map_err(|e| format!("cannot write {}: {e}", lock_path.display()))?;
        server._owner = Some(owner);
        let admin_url = format!("postgres://{SUPERUSER}:{password}@127.0.0.1:{port}/postgres");
        create_database(&admin_url)?;
        server.url = format!("postgres://{SUPERUSER}:{password}@127.0.0.1:{port}/{DATABASE}");
        Ok(server)
    }

    /// The connection URL of the service's database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops the server (fast shutdown: open sessions are ended, data is safe).
    pub fn stop(&mut self) {
        if !self.running {
            return;
        }
        self.running = false;
        log::info!("stopping the embedded PostgreSQL");
        let data = self.data_dir.to_string_lossy().into_owned();
        if let Err(e) = self.pg(&self.bin_dir.join("pg_ctl"), &["-D", &data, "-m", "fast", "-w", "stop"]) {
            log::warn!("could not stop the embedded PostgreSQL: {e}");
        }
    }

    fn init(&self, base: &Path, password: &str) -> Result<(), String> {
        log::info!(
            "initialising an embedded PostgreSQL cluster in {}",
            self.data_dir.display()
        );
        fs::create_dir_all(&self.data_dir).map_err(|e| format!("cannot create {}: {e}", self.data_dir.display()))?;
        fs::set_permissions(&self.data_dir, fs::Permissions::from_mode(0o700)).map_err(|e| e.to_string())?;
        let pwfile = base.join(".initdb-password");
        write_private(&pwfile, password)?;
        self.give_to_server_user(&[&self.data_dir, &pwfile])?;
        let data = self.data_dir.to_string_lossy().into_owned();
        let pwfile_arg = format!("--pwfile={}", pwfile.display());
        let result = self.pg(
            &self.bin_dir.join("initdb"),
            &[
                "-D",
                &data,
                "-U",
                SUPERUSER,
                &pwfile_arg,
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--no-locale",
            ],
        );
        let _ = fs::remove_file(&pwfile);
        result?;
        let mut conf = fs::OpenOptions::new()
            .append(true)
            .open(self.data_dir.join("postgresql.conf"))
            .map_err(|e| format!("cannot open postgresql.conf: {e}"))?;
        // Only loopback TCP: a Unix socket path under a deep data folder can exceed 107 bytes.
        writeln!(
            conf,
            "\n# salesfunnel embedded default\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''"
        )
        .map_err(|e| format!("cannot write postgresql.conf: {e}"))
    }

    /// Starts the server unless one already runs on this folder; returns its port.
    fn start_server(&self, base: &Path) -> Result<u16, String> {
        let port_file = base.join("postgres.port");
        let data = self.data_dir.to_string_lossy().into_owned();
        let pg_ctl = self.bin_dir.join("pg_ctl");
        let saved_port = fs::read_to_string(&port_file)
            .ok()
            .and_then(|p| p.trim().parse::<u16>().ok());
        if let Some(port) = saved_port.filter(|_| self.pg(&pg_ctl, &["-D", &data, "status"]).is_ok()) {
            log::info!("reusing the embedded PostgreSQL already running on port {port}");
            return Ok(port);
        }
        let port = saved_port.filter(|p| port_is_free(*p)).map_or_else(free_port, Ok)?;
        fs::write(&port_file, port.to_string()).map_err(|e| format!("cannot write {}: {e}", port_file.display()))?;
        let log_file = self.data_dir.join("server.log").to_string_lossy().into_owned();
        let options = format!("-p {port}");
        self.pg(
            &pg_ctl,
            &["-D", &data, "-l", &log_file, "-o", &options, "-w", "-t", "60", "start"],
        )
        .map_err(|e| format!("{e}\n(see {log_file})"))?;
        log::info!("embedded PostgreSQL listening on 127.0.0.1:{port}, data in {data}");
        Ok(port)
    }

    /// Runs a server binary, as the unprivileged user when we are root, in its own process
    /// group so that a Ctrl-C meant for us does not reach PostgreSQL before we stop it.
    fn pg(&self, program: &Path, args: &[&str]) -> Result<Output, String> {
        let mut command = Command::new(program);
        command.args(args).current_dir(&self.data_dir).process_group(0);
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid.as_raw()).gid(gid.as_raw());
        }
        let output = command
            .output()
            .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
        if output.status.success() {
            Ok(output)
        } else {
            Err(format!(
                "{} {} failed: {}{}",
                program.display(),
                args.join(" "),
                String::from_utf8_lossy(&output.stderr),
                String::from_utf8_lossy(&output.stdout)
            ))
        }
    }

    fn give_to_server_user(&self, paths: &[&Path]) -> Result<(), String> {
        let Some((uid, gid)) = self.run_as else { return Ok(()) };
        for path in paths {
            nix::unistd::chown(*path, Some(uid), Some(gid))
                .map_err(|e| format!("cannot hand {} to the postgres user: {e}", path.display()))?;
        }
        Ok(())
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The HS256 secret of the embedded default, generated once and kept in `base`.
pub fn jwt_secret(base: &Path) -> Result<Vec<u8>, String> {
    fs::create_dir_all(base).map_err(|e| format!("cannot create data folder {}: {e}", base.display()))?;
    secret_file(&base.join("jwt-secret"), 64).map(String::into_bytes)
}

/// Reads a secret kept in `path`, creating it with `len` random characters when absent.
fn secret_file(path: &Path, len: usize) -> Result<String, String> {
    if let Ok(existing) = fs::read_to_string(path) {
        let existing = existing.trim().to_owned();
        if !existing.is_empty() {
            return Ok(existing);
        }
    }
    let secret: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect();
    write_private(path, &secret)?;
    Ok(secret)
}

fn write_private(path: &Path, content: &str) -> Result<(), String> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    file.write_all(content.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// `initdb` and `postgres` refuse to run as root: then run them as the `postgres` user.
fn unprivileged_user() -> Result<Option<(Uid, Gid)>, String> {
    if !Uid::effective().is_root() {
        return Ok(None);
    }
    match User::from_name("postgres") {
        Ok(Some(user)) => Ok(Some((user.uid, user.gid))),
        _ => Err(
            "running as root, but PostgreSQL refuses to run as root and there is no 'postgres' user \
                  to run it as: create one (useradd postgres), run as another user, or set DATABASE_URL"
                .to_owned(),
        ),
    }
}

/// Finds `initdb` and `pg_ctl`: on PATH, else the newest /usr/lib/postgresql/<version>/bin.
fn find_bin_dir() -> Result<PathBuf, String> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).find(|dir| has_tools(dir)))
        .unwrap_or_default();
    if let Some(dir) = on_path {
        return Ok(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|entry| {
                    let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
                    Some((version, entry.path().join("bin")))
                })
                .filter(|(_, dir)| has_tools(dir))
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions.pop().map(|(_, dir)| dir).ok_or_else(|| {
        "DATABASE_URL is not set and no PostgreSQL server binaries (initdb, pg_ctl) were found on PATH or \
         under /usr/lib/postgresql/*/bin: install the PostgreSQL server (Debian: apt-get install postgresql) \
         or set DATABASE_URL to an existing database"
            .to_owned()
    })
}

fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("no free loopback port for PostgreSQL: {e}"))
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    exists: bool,
}

fn create_database(admin_url: &str) -> Result<(), String> {
    let mut conn = super::sync_connection(admin_url).map_err(|e| format!("embedded PostgreSQL: {e}"))?;
    let found = diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
        .bind::<Text, _>(DATABASE)
        .get_result::<Exists>(&mut conn)
        .map_err(|e| format!("cannot list databases: {e}"))?;
    if !found.exists {
        diesel::sql_query(format!("CREATE DATABASE {DATABASE}"))
            .execute(&mut conn)
            .map_err(|e| format!("cannot create database {DATABASE}: {e}"))?;
    }
    Ok(())
}

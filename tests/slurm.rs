//! The repository's Slurm recipe (deploy/slurm/) on a live single-node Slurm cluster: munged,
//! slurmctld and slurmd from Debian's `munge` and `slurm-wlm` (installed by scripts/setup.sh),
//! started by the test on loopback with their key, configuration, state and logs in a temporary
//! directory, and stopped by PID when the test ends, also when it fails (a Drop guard).
//!
//! A job array of 3 tasks converts a synthetic PASTIS-R into one Zarr store, locally and on the
//! moto S3 server, chained to the finalize job with `afterok`; each store `verify`s identical to
//! a single-machine run. Then the failure path: one task is cancelled (`scancel`), the chained
//! finalize is killed by `--kill-on-invalid-dep=yes`, a finalize submitted alone refuses naming
//! the missing partition; a task that had succeeded, run again, leaves the same objects (a rerun
//! is idempotent); the cancelled task resubmitted alone lets finalize succeed, with an identical
//! store. Missing Slurm fails the test.

// Test helpers fail the test by panicking, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod moto;

use common::{bin, file_names, synth_groups};
use moto::Moto;
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long the daemons may take to start and the node to become idle.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one submitted workload may take.
const JOB_TIMEOUT: Duration = Duration::from_secs(300);

/// A running single-node cluster; every daemon is stopped by PID when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    daemons: Vec<(&'static str, Child)>,
}

/// A TCP port free now on loopback (the daemons bind it a moment later).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The first line a command prints, or a loud failure naming the command.
fn output_of(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} cannot run ({e}): run scripts/setup.sh"));
    assert!(out.status.success(), "{program} {args:?} failed: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Fails loudly if a program the test needs is not installed.
fn require(program: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false)
        || Path::new("/usr/sbin").join(program).is_file();
    assert!(
        found,
        "{program} is not installed: scripts/setup.sh installs slurm-wlm and munge (apt)"
    );
}

/// `/usr/sbin/NAME` if it is there (daemons), else NAME on PATH.
fn daemon(name: &str) -> Command {
    let sbin = Path::new("/usr/sbin").join(name);
    Command::new(if sbin.is_file() {
        sbin
    } else {
        PathBuf::from(name)
    })
}

impl Cluster {
    /// Starts munged, slurmctld and slurmd, and waits until the node is idle.
    fn start() -> Cluster {
        for program in [
            "munged",
            "slurmctld",
            "slurmd",
            "sbatch",
            "squeue",
            "scontrol",
        ] {
            require(program);
        }
        let dir = tempfile::tempdir().unwrap();
        let mut cluster = Cluster {
            dir,
            daemons: Vec::new(),
        };
        let root = cluster.dir.path().to_path_buf();
        for sub in ["munge", "state", "spool", "log", "jobs"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        cluster.start_munge(&root);
        cluster.write_config(&root);
        let conf = root.join("slurm.conf");
        let ctld = daemon("slurmctld")
            .arg("-D")
            .arg("-c")
            .arg("-f")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(root.join("log/slurmctld.err")).unwrap())
            .spawn()
            .expect("slurmctld starts");
        cluster.daemons.push(("slurmctld", ctld));
        let slurmd = daemon("slurmd")
            .arg("-D")
            .arg("-f")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(root.join("log/slurmd.err")).unwrap())
            .spawn()
            .expect("slurmd starts");
        cluster.daemons.push(("slurmd", slurmd));
        cluster.wait_idle();
        cluster
    }

    /// munged in the foreground (its PID is the child's), with a fresh key, on a socket here.
    fn start_munge(&mut self, root: &Path) {
        let key = root.join("munge/munge.key");
        let made = daemon("mungekey")
            .arg("--create")
            .arg(format!("--keyfile={}", key.display()))
            .status()
            .expect("mungekey runs: scripts/setup.sh installs munge");
        assert!(made.success(), "mungekey failed");
        let munged = daemon("munged")
            .arg("--foreground")
            .arg("--force")
            .arg(format!("--key-file={}", key.display()))
            .arg(format!(
                "--socket={}",
                root.join("munge/munge.sock").display()
            ))
            .arg(format!(
                "--pid-file={}",
                root.join("munge/munged.pid").display()
            ))
            .arg(format!(
                "--log-file={}",
                root.join("log/munged.log").display()
            ))
            .arg(format!(
                "--seed-file={}",
                root.join("munge/munged.seed").display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("munged starts");
        self.daemons.push(("munged", munged));
        let socket = root.join("munge/munge.sock");
        let start = Instant::now();
        while !socket.exists() {
            assert!(
                start.elapsed() < START_TIMEOUT,
                "munged did not create its socket: {}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// slurm.conf: this host as controller and only node, on loopback and free ports; no
    /// cgroups (proctrack/linuxproc, task/none: works as root in a container), no accounting,
    /// a scheduler that looks at the queue every second.
    fn write_config(&self, root: &Path) {
        let host = output_of("hostname", &["-s"]);
        let user = output_of("id", &["-un"]);
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let d = root.display();
        let config = format!(
            "ClusterName=pastistest\n\
             SlurmctldHost={host}(127.0.0.1)\n\
             SlurmctldPort={ctld}\n\
             SlurmdPort={slurmd}\n\
             AuthType=auth/munge\n\
             AuthInfo=socket={d}/munge/munge.sock\n\
             CredType=cred/munge\n\
             SlurmUser={user}\n\
             SlurmdUser={user}\n\
             StateSaveLocation={d}/state\n\
             SlurmdSpoolDir={d}/spool\n\
             SlurmctldPidFile={d}/slurmctld.pid\n\
             SlurmdPidFile={d}/slurmd.pid\n\
             SlurmctldLogFile={d}/log/slurmctld.log\n\
             SlurmdLogFile={d}/log/slurmd.log\n\
             ProctrackType=proctrack/linuxproc\n\
             TaskPlugin=task/none\n\
             JobAcctGatherType=jobacct_gather/none\n\
             AccountingStorageType=accounting_storage/none\n\
             JobCompType=jobcomp/none\n\
             MpiDefault=none\n\
             SwitchType=switch/none\n\
             SchedulerType=sched/builtin\n\
             SchedulerParameters=sched_interval=1\n\
             SelectType=select/cons_tres\n\
             SelectTypeParameters=CR_Core\n\
             ReturnToService=2\n\
             SlurmdParameters=config_overrides\n\
             NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN\n\
             PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP\n",
            ctld = free_port(),
            slurmd = free_port(),
        );
        std::fs::write(root.join("slurm.conf"), config).unwrap();
    }

    /// A client command of this cluster, run in its jobs folder (where the job logs go).
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env("SLURM_CONF", self.dir.path().join("slurm.conf"))
            .current_dir(self.jobs());
        command
    }

    /// Where the jobs are submitted from and write their `.out` files.
    fn jobs(&self) -> PathBuf {
        self.dir.path().join("jobs")
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        self.command(program).args(args).output().unwrap()
    }

    fn wait_idle(&mut self) {
        let start = Instant::now();
        loop {
            let exited = self
                .daemons
                .iter_mut()
                .find_map(|(name, child)| Some((*name, child.try_wait().unwrap()?)));
            if let Some((name, status)) = exited {
                panic!("{name} exited at start ({status}): {}", self.logs());
            }
            let out = self.run("sinfo", &["-h", "-o", "%T"]);
            if String::from_utf8_lossy(&out.stdout).trim() == "idle" {
                return;
            }
            assert!(
                start.elapsed() < START_TIMEOUT,
                "the node did not become idle: {}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The tail of every daemon log, for a failure message.
    fn logs(&self) -> String {
        let mut text = String::new();
        if let Ok(entries) = std::fs::read_dir(self.dir.path().join("log")) {
            for entry in entries.flatten() {
                let body = std::fs::read_to_string(entry.path()).unwrap_or_default();
                let tail: Vec<&str> = body.lines().rev().take(15).collect();
                text.push_str(&format!("\n--- {}\n", entry.path().display()));
                for line in tail.iter().rev() {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
        text
    }

    /// Waits until none of `jobs` is pending or running any more.
    fn wait(&self, jobs: &[&str]) {
        let start = Instant::now();
        loop {
            let out = self.run("squeue", &["-h", "-j", &jobs.join(","), "-o", "%i %T"]);
            let listed = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if out.status.success() && listed.is_empty() {
                return;
            }
            assert!(
                start.elapsed() < JOB_TIMEOUT,
                "jobs {jobs:?} still queued: {listed}{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// `scontrol show job` of `job`, one line per job (array task), by `JobId`.
    fn states(&self, job: &str) -> BTreeMap<String, String> {
        let out = self.run("scontrol", &["show", "job", "-o", job]);
        assert!(out.status.success(), "scontrol show job {job}: {out:?}");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|line| {
                let field = |name: &str| {
                    line.split_whitespace()
                        .find_map(|w| w.strip_prefix(name))
                        .unwrap_or("")
                        .to_string()
                };
                let task = field("ArrayTaskId=");
                let id = if task.is_empty() {
                    field("JobId=")
                } else {
                    format!("{}_{task}", field("ArrayJobId="))
                };
                let state = format!("{} {}", field("JobState="), field("Reason="));
                (id, state)
            })
            .collect()
    }

    /// The `.out` file of a finished job, by file name.
    fn job_output(&self, name: &str) -> String {
        std::fs::read_to_string(self.jobs().join(name)).unwrap_or_default()
    }

    /// Submits `deploy/slurm/submit.sh` with `env` and sbatch `args`; returns the convert
    /// array's and the finalize job's ids.
    fn submit(&self, env: &[(&str, String)], args: &[&str]) -> (String, String) {
        let out = self
            .command("bash")
            .arg(recipe("submit.sh"))
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        assert!(out.status.success(), "submit.sh failed: {out:?}");
        let ids = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let (convert, finalize) = ids.split_once(' ').expect("two job ids");
        (convert.to_string(), finalize.to_string())
    }

    /// `sbatch --parsable ARGS deploy/slurm/SCRIPT` with `env`; returns the job id.
    fn sbatch(&self, env: &[(&str, String)], args: &[&str], script: &str) -> String {
        let out = self
            .command("sbatch")
            .arg("--parsable")
            .args(args)
            .arg(recipe(script))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        assert!(out.status.success(), "sbatch {script} failed: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Cluster {
    /// Cancels what is left of the jobs, then stops every daemon by its PID: SIGTERM, then
    /// SIGKILL if it has not ended within 10 s.
    fn drop(&mut self) {
        let _ = self
            .command("scancel")
            .arg("--full")
            .arg("--user")
            .arg(output_of_or_root())
            .output();
        for (_, child) in self.daemons.iter_mut().rev() {
            if let Ok(pid) = i32::try_from(child.id()) {
                // SAFETY: kill(2) on the PID of a child this test started and has not reaped.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
            let start = Instant::now();
            while matches!(child.try_wait(), Ok(None)) && start.elapsed() < Duration::from_secs(10)
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The current user's name, for `scancel --user` (root if `id` fails in a drop).
fn output_of_or_root() -> String {
    Command::new("id")
        .arg("-un")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "root".into())
}

/// A file of the repository's Slurm recipe.
fn recipe(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/slurm")
        .join(name)
}

/// PATH with the freshly built pastis-bridge first: the recipe calls `pastis-bridge`.
fn path_with_binary() -> String {
    let bin = assert_cmd::cargo::cargo_bin("pastis-bridge");
    let dir = bin.parent().unwrap().to_path_buf();
    let mut paths = vec![dir];
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(paths)
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// Every file under `root` with its size, by relative path.
fn sizes(root: &Path) -> Vec<(String, u64)> {
    file_names(root)
        .into_iter()
        .map(|f| {
            let size = std::fs::metadata(root.join(&f)).unwrap().len();
            (f, size)
        })
        .collect()
}

/// `pastis-bridge verify A B` exits 0 (identical), with `env`.
fn assert_identical(a: &Path, b: &str, env: &[(&str, String)]) {
    bin()
        .arg("verify")
        .arg(a)
        .arg(b)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .assert()
        .success();
}

/// Every state in `states` is COMPLETED.
fn assert_completed(states: &BTreeMap<String, String>, cluster: &Cluster) {
    assert!(
        states.values().all(|s| s.starts_with("COMPLETED")),
        "not all completed: {states:?}{}",
        cluster.logs()
    );
}

#[test]
fn slurm_array_job_converts_and_recovers_from_a_cancelled_task() {
    let start = Instant::now();
    let cluster = Cluster::start();
    let cluster_seconds = start.elapsed().as_secs_f64();
    let dir = tempfile::tempdir().unwrap();
    let src = synth_groups(dir.path());
    let single = dir.path().join("single.zarr");
    bin()
        .args(["convert", "--quiet"])
        .arg(&src)
        .arg(&single)
        .assert()
        .success();
    let base = vec![
        ("PATH", path_with_binary()),
        ("SRC", src.to_string_lossy().into_owned()),
        ("N", "3".to_string()),
        // A stale index exported by the submitting shell: the recipe must not let it count.
        ("JOB_COMPLETION_INDEX", "0".to_string()),
    ];
    let with = |extra: &[(&'static str, String)]| {
        let mut env = base.clone();
        env.extend(extra.iter().cloned());
        env
    };

    // 1. Local store: the array of 3 tasks, finalize chained with afterok.
    let local = dir.path().join("local.zarr");
    let env = with(&[("DST", local.to_string_lossy().into_owned())]);
    let start = Instant::now();
    let (convert, finalize) = cluster.submit(&env, &[]);
    cluster.wait(&[&convert, &finalize]);
    let local_seconds = start.elapsed().as_secs_f64();
    assert_completed(&cluster.states(&convert), &cluster);
    assert_completed(&cluster.states(&finalize), &cluster);
    for i in 0..3 {
        let out = cluster.job_output(&format!("pastis-convert-{convert}_{i}.out"));
        assert!(out.contains(&format!("wrote partition {i}/3")), "{out}");
    }
    assert_eq!(file_names(&local), file_names(&single));
    assert_identical(&single, local.to_str().unwrap(), &[]);

    // 2. The same on S3 (moto): credentials and endpoint travel in the exported environment.
    let moto = Moto::start("pastis");
    let url = moto.url("slurm/synth.zarr");
    let mut env = with(&[("DST", url.clone())]);
    env.extend(moto.env());
    let before = moto.requests().len();
    let start = Instant::now();
    let (convert, finalize) = cluster.submit(&env, &[]);
    cluster.wait(&[&convert, &finalize]);
    let s3_seconds = start.elapsed().as_secs_f64();
    assert_completed(&cluster.states(&convert), &cluster);
    assert_completed(&cluster.states(&finalize), &cluster);
    let requests = moto.requests().split_off(before);
    let mut keys: Vec<String> = moto
        .keys("slurm/synth.zarr/")
        .into_iter()
        .map(|k| k.trim_start_matches("slurm/synth.zarr/").to_string())
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        file_names(&single),
        "the objects differ from the single run's files"
    );
    assert_identical(&single, &url, &moto.env());
    // By method and status: `HEAD 404` are existence checks, `POST` bulk deletes.
    let mut by_method: BTreeMap<String, usize> = BTreeMap::new();
    for request in &requests {
        let words: Vec<&str> = request.split_whitespace().collect();
        let kind = format!(
            "{} {}",
            words.first().unwrap_or(&"?"),
            words.last().unwrap_or(&"?")
        );
        *by_method.entry(kind).or_default() += 1;
    }

    // 3. One task cancelled: the chained finalize is killed (afterok can never be met), a
    // finalize submitted alone refuses naming the missing partition; the task submitted again,
    // with task 0 that had succeeded (a rerun is idempotent), lets finalize succeed.
    let failing = dir.path().join("failing.zarr");
    let env = with(&[("DST", failing.to_string_lossy().into_owned())]);
    let start = Instant::now();
    let (convert, finalize) = cluster.submit(&env, &["--hold"]);
    let cancelled = cluster.run("scancel", &[&format!("{convert}_1")]);
    assert!(cancelled.status.success(), "scancel: {cancelled:?}");
    for job in [&convert, &finalize] {
        let released = cluster.run("scontrol", &["release", job]);
        assert!(released.status.success(), "release {job}: {released:?}");
    }
    cluster.wait(&[&convert, &finalize]);
    let finalize_state = cluster.states(&finalize);
    assert!(
        finalize_state
            .values()
            .all(|s| s == "CANCELLED DependencyNeverSatisfied"),
        "{finalize_state:?}"
    );
    assert!(!failing.exists(), "no store before a successful finalize");
    let alone = cluster.sbatch(&env, &[], "finalize.sbatch");
    cluster.wait(&[&alone]);
    assert!(
        cluster
            .states(&alone)
            .values()
            .all(|s| s.starts_with("FAILED")),
        "{:?}",
        cluster.states(&alone)
    );
    let said = cluster.job_output(&format!("pastis-finalize-{alone}.out"));
    assert!(said.contains("partitions 1/3 have not finished"), "{said}");
    // Task 0 had succeeded: running it again leaves the same objects, of the same sizes (v3
    // shards may hold their inner chunks in another order) and its marker.
    let partial = dir.path().join("failing.zarr.partial");
    let before = sizes(&partial);
    let rerun = cluster.sbatch(&env, &["--array=0"], "convert.sbatch");
    cluster.wait(&[&rerun]);
    assert_completed(&cluster.states(&rerun), &cluster);
    assert_eq!(
        sizes(&partial),
        before,
        "a rerun of task 0 changed the store"
    );
    // The cancelled task alone, and finalize chained to it.
    let again = cluster.sbatch(&env, &["--array=1"], "convert.sbatch");
    let finalize = cluster.sbatch(
        &env,
        &[
            &format!("--dependency=afterok:{again}"),
            "--kill-on-invalid-dep=yes",
        ],
        "finalize.sbatch",
    );
    cluster.wait(&[&again, &finalize]);
    let recovery_seconds = start.elapsed().as_secs_f64();
    assert_completed(&cluster.states(&again), &cluster);
    assert_completed(&cluster.states(&finalize), &cluster);
    assert_eq!(file_names(&failing), file_names(&single));
    assert_identical(&single, failing.to_str().unwrap(), &[]);

    // The numbers docs/scale-out.md quotes.
    eprintln!(
        "slurm: cluster up in {cluster_seconds:.1} s; local array+finalize {local_seconds:.1} s; s3 {s3_seconds:.1} s, {} objects, \
         {} requests {by_method:?}; cancel+recover {recovery_seconds:.1} s",
        keys.len(),
        requests.len()
    );
}

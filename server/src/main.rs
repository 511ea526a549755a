//! The `dockerpulse` binary: parses the command line and runs the chosen command.

// Nothing outside tests may unwrap: a bad input or a lost engine is an error, never a crash.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use anyhow::Context;
use clap::Parser;
use dockerpulse::cli::{Cli, Command, EvalCommand, ServeArgs};
use dockerpulse::collect::docker::DockerSourceConfig;
use dockerpulse::config::Config;
use dockerpulse::report::{chain, Reporter};
use std::process::ExitCode;

// The static musl build (scripts/build_image.sh): musl's allocator serialises threads on one
// lock. With mimalloc (and the allocation-free frame writer) 100 viewers cost 4 % of a core,
// not 22 %.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();

    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // Without a subcommand (as cargo-leptos starts it) DockerPulse serves with the defaults.
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => {
            let cfg = Config::load(cli.config.as_deref(), &args)?;
            dockerpulse::serve::serve(cfg).await
        }
        Command::Agent(args) => {
            let mut cfg = Config::load(cli.config.as_deref(), &args.serve)?;
            let c = &mut cfg.cluster;
            if args.hub.is_some() {
                c.hub = args.hub;
            }
            if args.node.is_some() {
                c.node = args.node;
            }
            if let Some(path) = &args.token_file {
                let token = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the token file {}", path.display()))?;
                c.token = Some(token.trim().to_string());
            }
            if args.ca_file.is_some() {
                c.ca_file = args.ca_file;
            }
            if c.hub.is_none() {
                anyhow::bail!("an agent needs its hub: --hub ws://HOST:PORT (or cluster.hub)");
            }
            c.validate().map_err(anyhow::Error::msg)?;
            dockerpulse::serve::serve(cfg).await
        }
        Command::Config(args) => {
            let cfg = Config::load(cli.config.as_deref(), &args)?;
            print!("{}", cfg.to_toml());
            Ok(())
        }
        Command::Report { incident_id } => {
            let cfg = Config::load(cli.config.as_deref(), &ServeArgs::default())?;
            let db = dockerpulse::store::db::Db::open(&cfg.data_dir)?;
            let reporter = Reporter::new(db, cfg.reports_dir.clone(), cfg.brain.horizon_s);
            let path = reporter.write(&incident_id, dockerpulse::clock::now_ms())?;
            println!("{}", path.display());
            Ok(())
        }
        Command::VerifyReports { dir } => {
            let cfg = Config::load(cli.config.as_deref(), &ServeArgs::default())?;
            let dir = dir.unwrap_or_else(|| cfg.reports_dir.clone());
            // The store's record of every report written also catches removed reports.
            let same_dir = std::fs::canonicalize(&dir)
                .ok()
                .is_some_and(|d| std::fs::canonicalize(&cfg.reports_dir).is_ok_and(|r| r == d));
            let anchors = if same_dir && cfg.data_dir.join("dockerpulse.db").is_file() {
                Some(dockerpulse::store::db::Db::open(&cfg.data_dir)?.report_anchors()?)
            } else {
                None
            };
            match chain::verify_dir(&dir, anchors.as_deref())? {
                chain::Verdict::Intact { reports } => {
                    println!("OK: {reports} report(s) in {}, chain intact", dir.display());
                    Ok(())
                }
                chain::Verdict::Broken {
                    file,
                    reason,
                    checked_ok,
                } => {
                    println!(
                        "BROKEN at {} ({checked_ok} report(s) before it are intact): {reason}",
                        file.display()
                    );
                    Err(anyhow::anyhow!(
                        "the report chain is broken at {}",
                        file.display()
                    ))
                }
            }
        }
        Command::Eval(EvalCommand::Nab { data, windows, out }) => {
            // The detector exactly as `serve` would run it: the same layered `[brain]` config.
            let cfg = Config::load(cli.config.as_deref(), &ServeArgs::default())?;
            print!(
                "{}",
                dockerpulse::eval::run_nab(&data, &windows, &out, &cfg.brain)?
            );
            Ok(())
        }
        Command::Eval(EvalCommand::Risk { data, fit, svg }) => {
            let cfg = Config::load(cli.config.as_deref(), &ServeArgs::default())?;
            let report = dockerpulse::eval::run_risk(&data, &fit, &cfg.brain)?;
            print!("{report}");
            let title = format!(
                "Reliability of the failure probability ({})",
                data.display()
            );
            std::fs::write(&svg, report.reliability_svg(&title))
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", svg.display()))?;
            println!("  reliability diagram written to {}", svg.display());
            Ok(())
        }
        Command::Eval(EvalCommand::Forecast { data, horizon }) => {
            let cfg = Config::load(cli.config.as_deref(), &ServeArgs::default())?;
            print!(
                "{}",
                dockerpulse::eval::run_forecast(&data, horizon, &cfg.brain)?
            );
            Ok(())
        }
        Command::Record(args) => {
            let flags = ServeArgs {
                docker_host: args.docker_host.clone(),
                ..ServeArgs::default()
            };
            let cfg = Config::load(cli.config.as_deref(), &flags)?;
            let n = dockerpulse::record::record(
                DockerSourceConfig::from(&cfg),
                args.seconds,
                &args.out,
            )
            .await?;
            println!("wrote {n} samples to {}", args.out.display());
            Ok(())
        }
    }
}

//! Command-line interface: the subcommands and flags of the `dockerpulse` binary.
//!
//! Flags only override what the config file and environment set (see [`crate::config`]), so
//! every flag is optional here and has its documented default in the config.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "dockerpulse",
    version,
    about = "Watches every container on a Docker host, predicts failures, heals and audits.",
    long_about = "DockerPulse samples every container on a Docker host each second, forecasts CPU \
and memory, scores anomalies against each container's own baseline, and serves a live dashboard \
over a websocket.\n\nSettings are layered: built-in defaults, then the TOML config file, then \
DOCKERPULSE_* environment variables, then flags."
)]
pub struct Cli {
    /// TOML config file (default: ./dockerpulse.toml when present).
    #[arg(
        long,
        short = 'c',
        global = true,
        env = "DOCKERPULSE_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start the collector, the brain and the dashboard server.
    Serve(ServeArgs),
    /// Run as a node's agent: everything `serve` does on this node, streamed to a hub.
    Agent(AgentArgs),
    /// Write per-container traces from the live engine as CSV files, one per container.
    Record(RecordArgs),
    /// Print the effective configuration (defaults + file + environment + flags) as TOML.
    Config(ServeArgs),
    /// Write the audit report of an incident into the reports directory (once; an existing
    /// report is kept, so the hash chain stays intact).
    Report {
        /// The incident's UUID.
        incident_id: String,
    },
    /// Check the hash chain of a directory of reports; names the first report that does not
    /// match. Exits non-zero when the chain is broken.
    VerifyReports {
        /// The reports directory [default: reports_dir from the config].
        dir: Option<PathBuf>,
    },
    /// Evaluate the brain offline on recorded series.
    #[command(subcommand)]
    Eval(EvalCommand),
}

#[derive(Subcommand, Debug)]
pub enum EvalCommand {
    /// Score the anomaly detector on NAB-format series with NAB's published method, and write
    /// NAB-format results (one file per series, in the layout NAB's scorer reads).
    Nab {
        /// Directory of `<category>/<name>.csv` series (`timestamp,value`).
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// NAB `windows.json` with the labelled anomaly windows.
        #[arg(long, value_name = "FILE")]
        windows: PathBuf,
        /// Directory to write results into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// MAE and RMSE of the forecast N samples ahead against naive last-value and the window
    /// mean, per file and overall, with the intervals' measured coverage.
    Forecast {
        /// Directory of NAB-format series or recorded traces.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Forecast horizon in samples.
        #[arg(long, default_value_t = 10)]
        horizon: usize,
    },
    /// Calibration of the failure probability on recorded traces (Brier score, skill, ECE, a
    /// reliability diagram), false CRITICALs per container-day and lead times before OOM kills.
    Risk {
        /// Directory of recorded trace sets to measure on (`dockerpulse record` output).
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Fit the mapping on these trace sets first (repeatable) and measure the fit (else the
        /// deployed one).
        #[arg(long, value_name = "DIR")]
        fit: Vec<PathBuf>,
        /// Where to write the reliability diagram.
        #[arg(long, value_name = "FILE", default_value = "docs/reliability.svg")]
        svg: PathBuf,
    },
}

/// Flags shared by `serve` and `config`.
#[derive(Args, Debug, Default, Clone)]
pub struct ServeArgs {
    /// Address to serve the dashboard and API on [default: 127.0.0.1:3000].
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,

    /// Docker engine to watch, e.g. unix:///var/run/docker.sock or tcp://host:2375
    /// [default: $DOCKER_HOST, else the local socket].
    #[arg(long, value_name = "URL")]
    pub docker_host: Option<String>,

    /// Sampling interval, e.g. 1s or 500ms [default: 1s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub interval: Option<std::time::Duration>,

    /// Run on the built-in simulated fleet instead of a Docker engine.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Args, Debug, Clone)]
pub struct AgentArgs {
    /// The hub to stream to: ws://host:port or wss://host (TLS) [config: cluster.hub].
    #[arg(long, value_name = "URL")]
    pub hub: Option<String>,

    /// This node's name at the hub [config: cluster.node; default: the host name].
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,

    /// File holding this node's token (kept out of the process list) [config: cluster.token,
    /// or DOCKERPULSE_CLUSTER__TOKEN].
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    /// PEM file of the CAs to trust for a wss:// hub behind a private CA; when given, only
    /// these are trusted, not the public roots [config: cluster.ca_file].
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,

    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Args, Debug, Clone)]
pub struct RecordArgs {
    /// How long to record, in seconds.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,

    /// Directory to write `<container-name>.csv` files into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Docker engine to record from [default: as for `serve`].
    #[arg(long, value_name = "URL")]
    pub docker_host: Option<String>,
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{e} (try 1s, 500ms)"))?;
    if d < std::time::Duration::from_millis(100) {
        return Err("must be at least 100ms".into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_flags_parse() {
        let cli = Cli::try_parse_from([
            "dockerpulse",
            "serve",
            "--bind",
            "0.0.0.0:8080",
            "--interval",
            "500ms",
            "--demo",
        ])
        .expect("valid flags");
        let Some(Command::Serve(args)) = cli.command else {
            panic!("expected serve");
        };
        assert_eq!(args.bind.as_deref(), Some("0.0.0.0:8080"));
        assert_eq!(args.interval, Some(std::time::Duration::from_millis(500)));
        assert!(args.demo);
    }

    #[test]
    fn too_short_interval_is_refused_with_a_reason() {
        let err = Cli::try_parse_from(["dockerpulse", "serve", "--interval", "1ms"])
            .expect_err("1ms is too short");
        assert!(err.to_string().contains("at least 100ms"), "{err}");
    }
}

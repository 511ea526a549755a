//! The configuration's defaults and layers (file, environment, flags), refused typos and
//! values, alert secrets kept out of what is shown, a missing file.

use super::*;
use figment::Jail;

#[test]
fn defaults_match_the_documentation() {
    let cfg = Config::default();
    assert_eq!(cfg.bind, "127.0.0.1:3000");
    assert_eq!(cfg.interval, Duration::from_secs(1));
    assert_eq!(cfg.history_len(), 3600);
    assert_eq!(cfg.snapshot_len(), 300);
}

#[test]
fn layers_file_then_env_then_flags() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "dp.toml",
            "bind = \"127.0.0.1:4000\"\ninterval = \"2s\"\nhistory = \"10m\"\n",
        )?;
        jail.set_env("DOCKERPULSE_INTERVAL", "500ms");
        jail.set_env("DOCKERPULSE_SOMETHING_ELSE", "is ignored");
        jail.set_env("DOCKERPULSE_BRAIN__CRITICAL_PCT", "90");
        let flags = ServeArgs {
            bind: Some("127.0.0.1:5000".into()),
            ..ServeArgs::default()
        };
        let cfg = Config::load(Some(Path::new("dp.toml")), &flags).expect("valid config");
        assert_eq!(cfg.bind, "127.0.0.1:5000", "flag wins over file");
        assert_eq!(
            cfg.interval,
            Duration::from_millis(500),
            "env wins over file"
        );
        assert_eq!(
            cfg.history,
            Duration::from_secs(600),
            "file wins over default"
        );
        Ok(())
    });
}

#[test]
fn typos_and_bad_values_are_refused_with_a_message() {
    Jail::expect_with(|jail| {
        jail.create_file("typo.toml", "bnid = \"127.0.0.1:1\"\n")?;
        let err = Config::load(Some(Path::new("typo.toml")), &ServeArgs::default())
            .expect_err("unknown key");
        assert!(err.to_string().contains("bnid"), "{err}");

        jail.create_file("brain.toml", "[brain]\ncritcal_pct = 90\n")?;
        let err = Config::load(Some(Path::new("brain.toml")), &ServeArgs::default())
            .expect_err("typo in a nested table");
        assert!(err.to_string().contains("critcal_pct"), "{err}");

        jail.create_file("zero.toml", "[heal]\nthreshold_pct = 0\n")?;
        let err = Config::load(Some(Path::new("zero.toml")), &ServeArgs::default())
            .expect_err("a zero threshold would act on everything");
        assert!(err.to_string().contains("threshold_pct"), "{err}");

        jail.create_file("bad.toml", "bind = \"nowhere\"\n")?;
        let err = Config::load(Some(Path::new("bad.toml")), &ServeArgs::default())
            .expect_err("bad address");
        assert!(err.to_string().contains("nowhere"), "{err}");
        Ok(())
    });
}

#[test]
fn alerts_are_configured_and_their_secrets_never_shown() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "alerts.toml",
            "[alerts]\nevents = [\"opened\", \"critical\", \"closed\"]\n\
             [alerts.alertmanager]\nurls = [\"http://127.0.0.1:9093\"]\n\
             [[alerts.webhooks]]\nkind = \"generic\"\nurl = \"http://127.0.0.1:9/hook\"\nsecret = \"whsec_c2VjcmV0\"\n\
             [[alerts.webhooks]]\nkind = \"slack\"\nurl = \"https://hooks.slack.com/services/T0/B0/SECRETPATH\"\n",
        )?;
        let cfg = Config::load(Some(Path::new("alerts.toml")), &ServeArgs::default())
            .expect("valid config");
        assert_eq!(cfg.alerts.webhooks.len(), 2);
        assert_eq!(cfg.alerts.events.len(), 3);
        let shown = cfg.to_toml();
        assert!(!shown.contains("c2VjcmV0"), "{shown}");
        assert!(!shown.contains("SECRETPATH"), "{shown}");

        jail.create_file(
            "unsigned.toml",
            "[[alerts.webhooks]]\nkind = \"generic\"\nurl = \"http://127.0.0.1:9/\"\n",
        )?;
        let err = Config::load(Some(Path::new("unsigned.toml")), &ServeArgs::default())
            .expect_err("a generic webhook must be signed");
        assert!(err.to_string().contains("secret"), "{err}");

        jail.create_file(
            "badurl.toml",
            "[alerts.alertmanager]\nurls = [\"ftp://x\"]\n",
        )?;
        let err = Config::load(Some(Path::new("badurl.toml")), &ServeArgs::default())
            .expect_err("not http");
        assert!(err.to_string().contains("alerts"), "{err}");
        Ok(())
    });
}

#[test]
fn missing_explicit_file_is_an_error() {
    let err = Config::load(
        Some(Path::new("/nonexistent/dp.toml")),
        &ServeArgs::default(),
    )
    .expect_err("missing file");
    assert!(matches!(err, ConfigError::MissingFile(_)));
}

//! The miner against loghub's labelled samples (grouping accuracy, as the log-parsing
//! literature scores it) and the rare-line hint on them.

use super::*;
use std::collections::{BTreeSet, HashMap};

fn corpus(name: &str) -> Vec<(String, String)> {
    let path = format!(
        "{}/tests/data/loghub/{name}_head.tsv",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("corpus file");
    text.lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(e, c)| (e.to_string(), c.to_string()))
        .collect()
}

/// Share of lines whose predicted group is exactly their true group.
fn grouping_accuracy(truth: &[String], predicted: &[u64]) -> f64 {
    let mut by_truth: HashMap<&str, BTreeSet<usize>> = HashMap::new();
    let mut by_pred: HashMap<u64, BTreeSet<usize>> = HashMap::new();
    for (i, (t, p)) in truth.iter().zip(predicted).enumerate() {
        by_truth.entry(t.as_str()).or_default().insert(i);
        by_pred.entry(*p).or_default().insert(i);
    }
    let ok = (0..truth.len())
        .filter(|i| by_truth[truth[*i].as_str()] == by_pred[&predicted[*i]])
        .count();
    ok as f64 / truth.len() as f64
}

fn lines(texts: &[&str]) -> Vec<LogLine> {
    texts
        .iter()
        .map(|t| LogLine {
            text: (*t).to_string(),
            ..LogLine::default()
        })
        .collect()
}

#[test]
fn the_miner_groups_loghub_samples_like_their_ground_truth() {
    for (name, want) in [("HDFS", 1.0), ("Zookeeper", 1.0), ("Apache", 1.0)] {
        let c = corpus(name);
        let truth: Vec<String> = c.iter().map(|(e, _)| e.clone()).collect();
        let ids = mine(c.iter().map(|(_, l)| l.as_str())).expect("miner configured");
        let ga = grouping_accuracy(&truth, &ids);
        eprintln!("{name}: grouping accuracy {ga:.3} on {} lines", c.len());
        assert!(ga >= want, "{name}: grouping accuracy {ga}");
    }
}

#[test]
fn rare_lines_of_hdfs_are_its_one_off_events() {
    let c = corpus("HDFS");
    let texts: Vec<&str> = c.iter().map(|(_, l)| l.as_str()).collect();
    let log = lines(&texts);
    let hint = rare_lines(&log, &vec![false; log.len()]).expect("a hint");
    let quoted: Vec<&str> = hint.lines.iter().map(|l| l.text.as_str()).collect();
    // E9 (a block deleted) and E3 (an exception while serving a block) occur once each.
    assert_eq!(quoted, [texts[72], texts[77]]);
    assert!(
        hint.sentence.starts_with("2 of its last 78 lines"),
        "{}",
        hint.sentence
    );
}

#[test]
fn a_new_error_after_a_steady_log_stands_out_and_noise_does_not() {
    let mut texts: Vec<String> = (0..60)
        .map(|i| format!("GET /api/items/{i} 200 {}ms", i % 17))
        .collect();
    texts.push("worker 3 lost its lease on shard 7, giving up".into());
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let hint = rare_lines(&lines(&refs), &[]).expect("a hint");
    assert_eq!(hint.lines.len(), 1);
    assert!(hint.sentence.contains("near the end"), "{}", hint.sentence);

    // Every line different: nothing is usual, so nothing stands out.
    let words = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
    ];
    let noise: Vec<String> = (0..40)
        .map(|i| {
            format!(
                "{} {} {}",
                words[i % 7],
                words[(i / 7) % 7],
                "x".repeat(i % 5 + 1)
            )
        })
        .map(|s| s.replace(' ', "-"))
        .collect();
    let refs: Vec<&str> = noise.iter().map(String::as_str).collect();
    assert!(rare_lines(&lines(&refs), &[]).is_none());
    // Too few lines to know what is usual.
    assert!(rare_lines(&lines(&refs[..10]), &[]).is_none());
}

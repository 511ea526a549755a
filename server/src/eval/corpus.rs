//! Reading NAB-format data: `timestamp,value` CSV series under `<data>/<category>/<name>.csv`
//! and the `windows.json` label file. No external CSV or date crates: the format is fixed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::EvalError;

/// One series of the corpus.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// `<category>/<name>.csv`, the key used by `windows.json`.
    pub key: String,
    pub category: String,
    /// File name without `.csv`.
    pub name: String,
    /// Timestamps as written in the file.
    pub raw_timestamps: Vec<String>,
    /// Timestamps in seconds since the Unix epoch.
    pub timestamps: Vec<i64>,
    /// Values as written (kept for writing results back unchanged).
    pub raw_values: Vec<String>,
    pub values: Vec<f64>,
}

/// Parses `YYYY-MM-DD HH:MM:SS[.ffffff]` (also with a `T`) into seconds since the Unix epoch.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = s.split_once([' ', 'T'])?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.split('.').next()?;
    let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next().flatten().unwrap_or(0));
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    Some(days_from_civil(y, m, day) * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Reads one `timestamp,value` file.
pub fn read_series(path: &Path, category: &str) -> Result<Series, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|e| EvalError::io(path, e))?;
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    let mut s = Series {
        key: format!("{category}/{name}.csv"),
        category: category.to_string(),
        name,
        raw_timestamps: Vec::new(),
        timestamps: Vec::new(),
        raw_values: Vec::new(),
        values: Vec::new(),
    };
    for (lineno, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || (lineno == 0 && line.starts_with("timestamp")) {
            continue;
        }
        let bad = || EvalError::Format {
            path: path.to_path_buf(),
            line: lineno + 1,
            msg: format!("expected `timestamp,value`, got `{line}`"),
        };
        let (ts, val) = line.split_once(',').ok_or_else(bad)?;
        let t = parse_timestamp(ts).ok_or_else(bad)?;
        let v: f64 = val.trim().parse().map_err(|_| bad())?;
        s.raw_timestamps.push(ts.to_string());
        s.timestamps.push(t);
        s.raw_values.push(val.trim().to_string());
        s.values.push(v);
    }
    Ok(s)
}

/// All series under `<data>/<category>/*.csv`, sorted by key.
pub fn read_corpus(data: &Path) -> Result<Vec<Series>, EvalError> {
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    let dirs = std::fs::read_dir(data).map_err(|e| EvalError::io(data, e))?;
    for dir in dirs {
        let dir = dir.map_err(|e| EvalError::io(data, e))?.path();
        if !dir.is_dir() {
            continue;
        }
        let category = dir
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        for f in std::fs::read_dir(&dir).map_err(|e| EvalError::io(&dir, e))? {
            let f = f.map_err(|e| EvalError::io(&dir, e))?.path();
            if f.extension().and_then(|e| e.to_str()) == Some("csv") {
                files.push((category.clone(), f));
            }
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(EvalError::Empty(data.to_path_buf()));
    }
    files.iter().map(|(c, f)| read_series(f, c)).collect()
}

/// Labelled windows per series key, as `[start, end]` epoch seconds.
pub type Windows = BTreeMap<String, Vec<(i64, i64)>>;

/// Reads NAB's `windows.json` (`{"<category>/<name>.csv": [["start", "end"], ...]}`).
pub fn read_windows(path: &Path) -> Result<Windows, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|e| EvalError::io(path, e))?;
    let raw: BTreeMap<String, Vec<Vec<String>>> =
        serde_json::from_str(&text).map_err(|e| EvalError::Format {
            path: path.to_path_buf(),
            line: e.line(),
            msg: e.to_string(),
        })?;
    let mut out = Windows::new();
    for (key, list) in raw {
        let mut ws = Vec::new();
        for pair in list {
            let parsed = match pair.as_slice() {
                [a, b] => parse_timestamp(a).zip(parse_timestamp(b)),
                _ => None,
            };
            let (a, b) = parsed.ok_or_else(|| EvalError::Format {
                path: path.to_path_buf(),
                line: 0,
                msg: format!("bad window {pair:?} for {key}"),
            })?;
            ws.push((a, b));
        }
        ws.sort();
        out.insert(key, ws);
    }
    Ok(out)
}

/// Index ranges (inclusive) of the windows within a series' timestamps: first row at or after
/// the start, last row at or before the end. Windows with no rows are dropped.
pub fn window_indices(timestamps: &[i64], windows: &[(i64, i64)]) -> Vec<(usize, usize)> {
    windows
        .iter()
        .filter_map(|&(a, b)| {
            let lo = timestamps.partition_point(|&t| t < a);
            let hi = timestamps.partition_point(|&t| t <= b);
            (hi > lo).then(|| (lo, hi - 1))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_to_epoch_seconds() {
        assert_eq!(parse_timestamp("1970-01-01 00:00:00"), Some(0));
        assert_eq!(parse_timestamp("2014-02-14 14:27:00"), Some(1_392_388_020));
        assert_eq!(
            parse_timestamp("2014-04-10 07:15:00.000000"),
            parse_timestamp("2014-04-10 07:15:00")
        );
        assert_eq!(parse_timestamp("2000-02-29 12:00:00"), Some(951_825_600));
        assert_eq!(parse_timestamp("garbage"), None);
        assert_eq!(parse_timestamp("2014-13-01 00:00:00"), None);
    }

    #[test]
    fn window_indices_snap_inside() {
        let ts = [0, 300, 600, 900, 1200];
        assert_eq!(window_indices(&ts, &[(300, 900)]), vec![(1, 3)]);
        assert_eq!(window_indices(&ts, &[(301, 899)]), vec![(2, 2)]);
        assert_eq!(window_indices(&ts, &[(5000, 6000)]), vec![]);
    }
}

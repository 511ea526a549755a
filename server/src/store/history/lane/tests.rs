use super::*;
use proptest::strategy::Strategy;

/// `vals` coded by one lane and decoded by another: what reads back, and the bits written.
fn through_a_lane(vals: &[Val]) -> (Vec<Val>, usize) {
    let (mut enc, mut dec) = (Lane::default(), Lane::default());
    let mut w = BitWriter::default();
    for &v in vals {
        enc.encode(v, &mut w);
    }
    let bits = w.len();
    let words = w.into_words();
    let mut r = BitReader::new(&words);
    (vals.iter().map(|_| dec.decode(&mut r)).collect(), bits)
}

/// Deterministic standard normal draws (Box–Muller over an LCG).
fn gaussian(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    let mut u = move || {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| (-2.0 * u().ln()).sqrt() * (std::f64::consts::TAU * u()).cos())
        .collect()
}

#[test]
fn lane_round_trips_every_kind_of_value() {
    let vals = [
        Val::Q(5),
        Val::Q(5),
        Val::None,
        Val::Q(5),
        Val::Q(i64::MAX),
        Val::Q(i64::MIN),
        Val::Raw(f64::NAN.to_bits()),
        Val::Raw(f64::NAN.to_bits()),
        Val::Q(-3),
        Val::Q(1 << 40),
        Val::Q((1 << 40) + 1),
        Val::None,
        Val::None,
        Val::Raw(0),
        Val::None,
        Val::Q(7),
        Val::Raw(1),
    ];
    assert_eq!(through_a_lane(&vals).0, vals);
}

#[test]
fn page_sized_steps_are_written_without_their_zero_bits() {
    // Memory in bytes moving by whole pages, against the same moves by single bytes.
    let steps = [3i64, -1, 2, 7, -5, 1, 0, 4, -2, 6];
    let cost = |unit: i64| {
        let mut q = 100_000_000 / unit * unit;
        let mut vals = Vec::new();
        for k in 0..1000 {
            q += steps[k % steps.len()] * unit;
            vals.push(Val::Q(q));
        }
        // A step that is not whole pages (an odd byte count) still round-trips.
        vals.push(Val::Q(q + 3));
        vals.push(Val::Q(q + 3 + 4096));
        let (back, bits) = through_a_lane(&vals);
        assert_eq!(back, vals, "unit {unit}");
        bits
    };
    let (pages, bytes) = (cost(4096), cost(1));
    assert!(
        pages <= bytes + 64,
        "pages {pages} bits, bytes {bytes} bits"
    );
}

proptest::proptest! {
    #[test]
    fn any_lane_round_trips(
        vals in proptest::collection::vec(
            proptest::prop_oneof![
                (-1000i64..1000).prop_map(|k| Val::Q(k << 12)),
                (-1000i64..1000).prop_map(|k| Val::Q(k << 4)),
                (-3i64..3).prop_map(Val::Q),
                proptest::num::i64::ANY.prop_map(Val::Q),
                proptest::num::u64::ANY.prop_map(Val::Raw),
                proptest::strategy::Just(Val::None),
            ],
            1..400,
        )
    ) {
        proptest::prop_assert_eq!(through_a_lane(&vals).0, vals);
    }
}

#[test]
fn repeated_values_cost_one_bit() {
    let mut lane = Lane::default();
    let mut w = BitWriter::default();
    lane.encode(Val::Q(1000), &mut w);
    let first = w.len();
    for _ in 0..100 {
        lane.encode(Val::Q(1000), &mut w);
    }
    assert_eq!(w.len(), first + 100);
    // So do repeated nones.
    lane.encode(Val::None, &mut w);
    let first = w.len();
    for _ in 0..100 {
        lane.encode(Val::None, &mut w);
    }
    assert_eq!(w.len(), first + 100);
}

#[test]
fn a_noisy_lane_costs_close_to_its_entropy() {
    // White noise of σ = 100 steps: its deltas (σ √2) carry ½·log2(2πe·2·100²) ≈ 9.19 bits of
    // information a point.
    let vals: Vec<Val> = gaussian(20_000, 7)
        .iter()
        .map(|g| Val::Q((1e6 + 100.0 * g).round() as i64))
        .collect();
    let (back, bits) = through_a_lane(&vals);
    assert_eq!(back, vals);
    let per_point = bits as f64 / vals.len() as f64;
    assert!(per_point < 9.6, "{per_point:.2} bits a point");
    assert!(
        per_point > 9.19,
        "{per_point:.2} bits a point: below the entropy?"
    );
}

#[test]
fn a_lane_that_turns_calm_soon_costs_a_bit_a_point_again() {
    let mut vals: Vec<Val> = gaussian(500, 3)
        .iter()
        .map(|g| Val::Q((1000.0 * g).round() as i64))
        .collect();
    let noisy = through_a_lane(&vals).1;
    let last = vals[vals.len() - 1];
    vals.extend(std::iter::repeat_n(last, 500));
    let (back, bits) = through_a_lane(&vals);
    assert_eq!(back, vals);
    // 500 repeats: a few dozen bits while the parameter comes down, then one bit each.
    let calm = bits - noisy;
    assert!(calm < 500 + 300, "{calm} bits for 500 repeats");
}

#[test]
fn jumps_and_gaps_cost_tens_of_bits_not_the_rest_of_the_chunk() {
    // A calm lane that jumps by a gigabyte once, and goes missing for a while.
    let mut vals = vec![Val::Q(5 << 30); 100];
    vals.extend(vec![Val::Q(6 << 30); 100]);
    vals.extend(vec![Val::None; 100]);
    vals.extend(vec![Val::Q(6 << 30); 100]);
    let (back, bits) = through_a_lane(&vals);
    assert_eq!(back, vals);
    // 400 one-bit points, and four transitions (the first value, the jump, the gap and the
    // return) of at most 12 + 1 + 6 + 64 bits each, with the calm points after them.
    assert!(bits <= 400 + 4 * 100, "{bits} bits");
}

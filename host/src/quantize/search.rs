//! The search of quantisation: fractional bits narrowed one knob at a time by bisection, each knob allowed its
//! share of the error budget, over any error function (the real one runs the fixed-point model on the sample).

/// The search variables: fractional bits of the input, and per layer of the weights and of the result.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Knobs {
    /// Fractional bits of the network's input.
    pub input: i32,
    /// Per layer with parameters: fractional bits of the weights and biases.
    pub weight: Vec<i32>,
    /// Per layer with parameters: fractional bits of the result.
    pub result: Vec<i32>,
}

/// Narrows `knobs` (whose error is `current`, the worst variable's MSE ratio to the float model) knob by knob:
/// the input first, then each layer's weights and result. The k-th of K knobs may bring the ratio up to
/// `1 + tolerance · k / K`, and each takes the smallest value (bisection over 0..its start) that stays within it;
/// once the ratio is above `1 + tolerance` nothing more is narrowed. Returns the knobs, the ratio each layer added
/// and the final ratio.
pub(super) fn narrow(
    mut knobs: Knobs,
    mut current: f64,
    tolerance: f64,
    evaluate: &dyn Fn(&Knobs) -> f64,
    progress: &mut dyn FnMut(&str),
) -> (Knobs, Vec<f64>, f64) {
    let n = knobs.weight.len();
    let target = 1.0 + tolerance;
    let knob_count = 1 + 2 * n;
    let allowed = |k: usize| 1.0 + tolerance * (k + 1) as f64 / knob_count as f64;
    let bisect = |knobs: &mut Knobs,
                  pick: &dyn Fn(&mut Knobs) -> &mut i32,
                  limit: f64,
                  current: &mut f64| {
        let (mut lo, mut hi) = (0, *pick(knobs));
        while lo < hi {
            let mid = (lo + hi) / 2;
            let mut trial = knobs.clone();
            *pick(&mut trial) = mid;
            let err = evaluate(&trial);
            if err <= limit {
                hi = mid;
                *current = err; // the error at the narrowest width that passed so far
            } else {
                lo = mid + 1;
            }
        }
        *pick(knobs) = hi;
    };
    if current <= target {
        bisect(&mut knobs, &|k| &mut k.input, allowed(0), &mut current);
    }
    let mut added = Vec::with_capacity(n);
    for l in 0..n {
        let before = current;
        if current <= target {
            bisect(
                &mut knobs,
                &|k| &mut k.weight[l],
                allowed(1 + 2 * l),
                &mut current,
            );
            bisect(
                &mut knobs,
                &|k| &mut k.result[l],
                allowed(2 + 2 * l),
                &mut current,
            );
        }
        added.push(current - before);
        progress(&format!(
            "layer {}/{n}: weights F={}, results F={}, worst variable ×{current:.4}",
            l + 1,
            knobs.weight[l],
            knobs.result[l]
        ));
    }
    (knobs, added, current)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy network's error: each knob with F fractional bits adds `scale · 2^-F` to the ratio.
    fn toy(scale: &[f64]) -> impl Fn(&Knobs) -> f64 + '_ {
        move |k: &Knobs| {
            let bits = std::iter::once(k.input)
                .chain(k.weight.iter().zip(&k.result).flat_map(|(&w, &r)| [w, r]));
            1.0 + bits.zip(scale).map(|(f, s)| s * 2f64.powi(-f)).sum::<f64>()
        }
    }

    fn widest(layers: usize) -> Knobs {
        Knobs {
            input: 24,
            weight: vec![24; layers],
            result: vec![24; layers],
        }
    }

    /// Knob `k` in search order: the input, then each layer's weights and result.
    fn knob(knobs: &mut Knobs, k: usize) -> &mut i32 {
        match k {
            0 => &mut knobs.input,
            k if k % 2 == 1 => &mut knobs.weight[k / 2],
            k => &mut knobs.result[k / 2 - 1],
        }
    }

    #[test]
    fn each_knob_takes_the_narrowest_width_within_its_share_of_the_budget() {
        // two layers, five knobs; the tolerance 0.05 is shared out as 0.01 per knob
        let scale = [0.001, 0.5, 0.002, 0.004, 1.0];
        let evaluate = toy(&scale);
        let start = widest(2);
        let (knobs, added, ratio) = narrow(
            start.clone(),
            evaluate(&start),
            0.05,
            &evaluate,
            &mut |_| {},
        );
        for k in 0..5 {
            // when knob k was searched, the knobs before it had their final widths and those after it their start
            let mut seen = knobs.clone();
            for later in k + 1..5 {
                *knob(&mut seen, later) = 24;
            }
            let limit = 1.0 + 0.01 * (k + 1) as f64;
            assert!(
                evaluate(&seen) <= limit + 1e-12,
                "knob {k} within its share"
            );
            let chosen = *knob(&mut seen, k);
            if chosen > 0 {
                *knob(&mut seen, k) = chosen - 1;
                assert!(evaluate(&seen) > limit, "knob {k} could have been narrower");
            }
        }
        assert!(ratio <= 1.05 && (ratio - evaluate(&knobs)).abs() < 1e-12);
        assert_eq!(added.len(), 2);
        // a knob with a small effect ends narrower than one with a large effect
        assert!(knobs.input < knobs.weight[0]);
        assert!(knobs.weight[1] < knobs.result[1]);
    }

    #[test]
    fn nothing_is_narrowed_when_the_widest_formats_already_miss_the_target() {
        let evaluate = |_: &Knobs| 1.2;
        let start = widest(3);
        let (knobs, added, ratio) = narrow(start.clone(), 1.2, 0.05, &evaluate, &mut |_| {});
        assert_eq!(knobs, start);
        assert_eq!(added, vec![0.0; 3]);
        assert_eq!(ratio, 1.2);
    }
}

//! Track record of the ramp gate, so the gate is trusted less where it has proved worse.

/// Track record of the ramp gate: error of the fully gated forecast against the blend alone,
/// over realised forecasts made while the gate was open (weighted by the gate).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct GateRecord {
    gated_mse: f64,
    blend_mse: f64,
    weight: f64,
}

impl GateRecord {
    /// Memory, in fully-open realised forecasts.
    const MEMORY: f64 = 20.0;
    /// Evidence needed before the record can lower the trust.
    const MIN_WEIGHT: f64 = 3.0;

    pub(super) fn record(&mut self, gate: f64, gated_err: f64, blend_err: f64) {
        if !(gate > 0.0 && gated_err.is_finite() && blend_err.is_finite()) {
            return;
        }
        let a = gate / Self::MEMORY;
        self.gated_mse += a * (gated_err * gated_err - self.gated_mse);
        self.blend_mse += a * (blend_err * blend_err - self.blend_mse);
        self.weight += gate;
    }

    /// 1 while the gate has not been worse than the blend; lower as it proves worse (¼ when its
    /// squared errors are twice the blend's).
    pub(super) fn trust(&self) -> f64 {
        if self.weight < Self::MIN_WEIGHT || self.gated_mse <= self.blend_mse {
            return 1.0;
        }
        let r = self.blend_mse / self.gated_mse;
        if r.is_finite() {
            (r * r).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

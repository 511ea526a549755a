//! The brain: forecasts, anomaly scores and failure risk per container (pure, no I/O).

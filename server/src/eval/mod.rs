//! Offline evaluation of the brain: NAB scoring and forecast error.

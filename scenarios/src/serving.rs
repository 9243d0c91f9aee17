//! The scenario's `services:`, `traffic:`, `gateway:` and `metrics:` sections (inference
//! services on the main model, documented in `docs/scenario-format.md`): the platform
//! configuration's types, checked here where the file is known.

use models::ServingConfig;
use models::platform::{GatewayConfig, InferenceServiceConfig, MetricsConfig, TrafficConfig};
use sim_core::SimDuration;

use crate::scenario::ScenarioError;

/// The serving run configuration of a scenario, or `None` without services.
pub fn build(
    path: &str,
    services: &[InferenceServiceConfig],
    traffic: &[TrafficConfig],
    gateway: Option<&GatewayConfig>,
    metrics: Option<&MetricsConfig>,
    horizon: Option<SimDuration>,
) -> Result<Option<ServingConfig>, ScenarioError> {
    let invalid = |field: &str, msg: String| ScenarioError::Invalid {
        path: path.to_string(),
        field: field.to_string(),
        msg,
    };
    if services.is_empty() {
        for (given, key) in [
            (!traffic.is_empty(), "traffic"),
            (gateway.is_some(), "gateway"),
            (metrics.is_some(), "metrics"),
        ] {
            if given {
                return Err(invalid(
                    key,
                    "given without `services`: there is nothing to route to or scrape".into(),
                ));
            }
        }
        return Ok(None);
    }
    let cfg = ServingConfig {
        services: services.to_vec(),
        traffic: traffic.to_vec(),
        gateway: gateway.cloned(),
        metrics: metrics.cloned().unwrap_or_default(),
    };
    cfg.validate(horizon).map_err(|e| match e {
        models::ModelError::Config { field, msg } => invalid(&field, msg),
        other => invalid("services", other.to_string()),
    })?;
    Ok(Some(cfg))
}

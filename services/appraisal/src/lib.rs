//! The appraisal service. Its RPCs arrive with their issue; until then `duban`
//! serves health and reflection for its port only (see `duban::app`).

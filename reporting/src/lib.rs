//! The reporting worker. Its schedules, renderers and mail delivery arrive
//! with their issue; until then `duban` serves health and reflection for the
//! reporting port only.

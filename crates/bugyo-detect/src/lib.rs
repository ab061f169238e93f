//! Verdicts for every route, stateful detectors, and the correlator that turns anomalous routes into incidents.

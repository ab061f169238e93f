//! What bugyo holds in memory: the multi-peer RIB, reference-data indexes and the AS relationship graph.

//! Cross-backend suites: conformance, properties, differential.

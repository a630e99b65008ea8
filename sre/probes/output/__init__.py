"""Result renderers: table (rich), JSON, JUnit XML, Prometheus exposition, OTLP."""

"""Rasid connectors: discover article URLs from outlets and produce raw pages to Kafka."""

"""The I/O edges: readers onto a grid (ingest) and COG/STAC writers (export)."""

"""Disaster layers: flood extent and classes, exposure, burn severity, drought."""

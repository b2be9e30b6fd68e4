"""Sensor knowledge in one place: band names, scale/offset rules and QA bit layouts.

Science code never sees ``B8A`` or ``SR_B5``: readers rename bands to the STAC eo
common names listed here and apply the radiometry decided here.
"""

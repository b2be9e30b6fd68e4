"""Air quality: QA-filtered trace gases and aerosols, PM2.5 estimates, AQI, residue burning."""

from .._lazy import attach

__all__, __getattr__, __dir__ = attach(__name__, {
    # Sentinel-5P columns
    "read_s5p_l2": "agromap.io.s5p_read",
    "qa_filter": ".s5p",
    "grid_s5p": ".s5p",
    "monthly_mean": ".s5p",
    "open_l3_raster": "agromap.io.s5p_read",
    # aerosol optical depth
    "open_maiac": ".aod",
    "open_s2_aot": "agromap.io.aod_read",
    # PM2.5 from AOD
    "fit_pm25": ".pm25",
    "estimate_pm25": ".pm25",
    # AQI
    "load_standard": ".aqi",
    "subindex": ".aqi",
    "aqi_from_concentrations": ".aqi",
})

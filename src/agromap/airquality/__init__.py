"""Air quality: QA-filtered trace gases and aerosols, PM2.5 estimates, AQI, residue burning."""

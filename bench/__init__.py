"""agromap benchmark suite: ratios measured in one run, on the same cores.

Run it with ``make bench`` (or ``.venv/bin/python -m bench`` from the repository root); see
``bench/README.md`` for what each measurement means and how to change the sizes. Nothing here is
imported by agromap or by the test suite: speed is measured here, never asserted in pytest.
"""

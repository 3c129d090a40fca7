"""The reports: `html` (building blocks), `plots` (inline SVG), `sections` (what every output
shows), `document` (write_report: the page, with each paper's section from the claims registry)
and `terminal` (rich tables). Import the module you need: this package imports nothing, so the
claims modules can draw their sections with `html` and `plots` while `document` reads the claims
registry."""

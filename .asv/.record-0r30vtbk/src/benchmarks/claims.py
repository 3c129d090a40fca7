"""Each claim's measured value and verdict as asv figures, so the site graphs every claim across
commits and flags one that stops holding (lower-is-better, as dropbench.suites explains)."""

from dropbench import suites
from dropbench.claims import CLAIMS


class Claims:
    params = [claim.id for claim in CLAIMS]
    param_names = ("claim",)
    processes = 1  # one check per commit: the records come from setup_cache
    timeout = 600

    def setup_cache(self):
        return suites.claim_records()

    setup_cache.timeout = 3600

    def setup(self, records, claim_id):
        self.bound_ratio, self.not_holding = suites.claim_figures(records, claim_id)

    def track_claim_bound_ratio(self, records, claim_id):
        return self.bound_ratio

    track_claim_bound_ratio.unit = "bound / measured (< 1: clears the claim's bound)"

    def track_claim_not_holding(self, records, claim_id):
        return self.not_holding

    track_claim_not_holding.unit = "0 = holds, 1 = fails / inconclusive"
